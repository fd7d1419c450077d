/// What a configurable parameter is, without how a particular engine stores
/// it: its key, the values it accepts, whether it can change while a search
/// runs, and a line of documentation. The engine validates config files,
/// `--set` and `:set` with it; a dashboard checks a typed value against it
/// before sending, and lists, completes and documents parameters from it —
/// for whichever producer described them.
public struct ParameterDescriptor: Codable, Sendable, Equatable {
    public enum Kind: Codable, Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case real(ClosedRange<Double>)
        case flag
        case choice([String])
        case text
        /// A name that becomes one folder (`runs/NAME/`): never a path.
        case folderName
    }

    public let key: String
    public let kind: Kind
    public let isLive: Bool
    public let documentation: String

    public init(key: String, kind: Kind, isLive: Bool, documentation: String) {
        self.key = key
        self.kind = kind
        self.isLive = isLive
        self.documentation = documentation
    }

    /// What the parameter accepts, for error messages and help text.
    public var allowed: String {
        switch kind {
        case .integer(let range): range.upperBound == .max ? "an integer ≥ \(range.lowerBound)" : "an integer in \(range.lowerBound)…\(range.upperBound)"
        case .real(let range):
            range.upperBound == .infinity ? "a number ≥ \(formatReal(range.lowerBound))" : "a number in \(formatReal(range.lowerBound))…\(formatReal(range.upperBound))"
        case .flag: "true or false"
        case .choice(let options): "one of " + options.joined(separator: ", ")
        case .text: "text"
        case .folderName: "a folder name: 1–100 characters, no '/', no control characters, not starting with '.'"
        }
    }

    /// Why `name` cannot be a run's folder, or nil when it can: the name is
    /// joined to `runs/`, so `..`, `/` or an empty name would write
    /// elsewhere, and control characters would garble every listing.
    public static func folderNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.count > 100 { return "it is longer than 100 characters" }
        if name.contains("/") { return "it contains '/'" }
        if name.hasPrefix(".") { return "it starts with '.'" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "it contains control characters" }
        return nil
    }

    /// The options of a choice parameter (empty for other kinds).
    public var options: [String] {
        if case .choice(let options) = kind { return options }
        return []
    }

    /// Checks `value` against the kind and range; integers are accepted for
    /// real parameters. Returns the value in its canonical form.
    public func validate(_ value: ConfigValue) throws(ConfigError) -> ConfigValue {
        switch (kind, value) {
        case (.integer(let range), .integer(let v)) where range.contains(v):
            return value
        case (.real(let range), .real(let v)) where range.contains(v):
            return value
        case (.real(let range), .integer(let v)) where range.contains(Double(v)):
            return .real(Double(v))
        case (.flag, .flag):
            return value
        case (.choice(let options), .text(let v)) where options.contains(v):
            return value
        case (.text, .text):
            return value
        case (.folderName, .text(let v)) where Self.folderNameProblem(v) == nil:
            return value
        default:
            throw ConfigError.invalidValue(key: key, value: value.description, allowed: allowed)
        }
    }
}

extension [ParameterDescriptor] {
    /// A change to `key` while a search runs: the validated value, or why it
    /// is refused (unknown key, structural parameter, value out of range).
    public func liveChange(_ key: String, to value: ConfigValue) throws(ConfigError) -> ConfigValue {
        guard let descriptor = first(where: { $0.key == key }) else { throw ConfigError.unknownKey(key, suggestion: suggestion(for: key)) }
        guard descriptor.isLive else { throw ConfigError.notLive(key) }
        return try descriptor.validate(value)
    }
}

extension [ParameterDescriptor] {
    /// The known key closest to a mistyped one (edit distance ≤ 3, or a
    /// unique key with the same last component).
    public func suggestion(for key: String) -> String? {
        let byDistance = map { ($0.key, editDistance($0.key, key)) }.min { $0.1 < $1.1 }
        if let (best, distance) = byDistance, distance <= 3 { return best }
        let last = key.split(separator: ".").last.map(String.init) ?? key
        let sameLast = filter { $0.key.split(separator: ".").last.map(String.init) == last }
        return sameLast.count == 1 ? sameLast[0].key : nil
    }
}

/// Levenshtein distance between two keys.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(b.count, 1) where !b.isEmpty {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return a.isEmpty ? b.count : row[b.count]
}

/// A configuration problem, always naming the key and what was wrong.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unknownKey(String, suggestion: String?)
    case invalidValue(key: String, value: String, allowed: String)
    case notLive(String)
    case syntax(file: String, line: Int, column: Int, message: String)
    case unreadable(path: String, reason: String)
    case inFile(path: String, problem: String)
    case malformedOverride(String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let suggestion):
            "unknown parameter '\(key)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .invalidValue(let key, let value, let allowed):
            "invalid value '\(value)' for \(key): expected \(allowed)"
        case .notLive(let key):
            "\(key) cannot change while a search runs (set it in the config or with --set)"
        case .syntax(let file, let line, let column, let message):
            "\(file):\(line):\(column): \(message)"
        case .unreadable(let path, let reason):
            "cannot read config \(path): \(reason)"
        case .inFile(let path, let problem):
            "\(path): \(problem)"
        case .malformedOverride(let text):
            "malformed override '\(text)': expected key=value"
        }
    }
}
