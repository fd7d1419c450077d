/// What a non-UTF-8 terminal shows instead of a character it cannot encode.
///
/// One character for one, so that every column stays where the layout put
/// it: Greek letters become their Latin transliteration (λmax → lmax, α → a),
/// arrows, dashes and dots their nearest ASCII sign, anything else `?`.
extension Character {
    var asciiStandIn: Character {
        guard let scalar = unicodeScalars.first, !isASCII else { return self }
        if let standIn = Self.standIns[scalar] { return standIn }
        return "?"
    }

    private static let standIns: [Unicode.Scalar: Character] = {
        var table: [Unicode.Scalar: Character] = [:]
        let pairs: [(String, String)] = [
            ("αβγδεζηθικλμνξοπρστυφχψω", "abgdezhqiklmnxoprstufcyw"),
            ("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", "ABGDEZHQIKLMNXOPRSTUFCYW"),
        ]
        for (from, to) in pairs {
            for (scalar, standIn) in zip(from.unicodeScalars, to) { table[scalar] = standIn }
        }
        let signs: [(Unicode.Scalar, Character)] = [
            ("·", "."), ("•", "*"), ("●", "*"), ("○", "o"), ("…", "."), ("–", "-"), ("—", "-"), ("−", "-"),
            ("‐", "-"), ("→", ">"), ("←", "<"), ("↑", "^"), ("↓", "v"), ("×", "x"), ("÷", "/"),
            ("≥", ">"), ("≤", "<"), ("≈", "~"), ("‖", "|"), ("∂", "d"), ("√", "r"), ("∞", "8"),
            ("─", "-"), ("│", "|"), ("┄", "-"), ("╭", "+"), ("╮", "+"), ("╰", "+"), ("╯", "+"), ("▏", "|"),
            ("░", "."), ("▒", ":"), ("▓", "*"), ("█", "#"),
        ]
        for (scalar, standIn) in signs { table[scalar] = standIn }
        return table
    }()
}
