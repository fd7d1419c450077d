import CNCurses
import Foundation

/// The ncurses screen: starts and restores the terminal, copies a
/// ``CellGrid`` to it with the theme's colours, and reads keys.
public final class Terminal {
    public private(set) var theme: Theme
    public let colors: Int
    public let glyphs: Glyphs
    /// The locale cannot encode anything beyond ASCII.
    let asciiOnly: Bool
    private var pairs: [[Int]: Int16] = [:]

    /// Starts curses on this process's terminal, or says why it cannot: keys
    /// come from standard input and the screen is standard output, so both
    /// must be terminals, and terminfo must know how to place the cursor
    /// (`TERM=dumb` cannot). `NO_COLOR` or a colourless terminal → monochrome;
    /// a non-UTF-8 locale → ASCII glyphs, and every other character is drawn
    /// as its ASCII stand-in.
    public init(theme: Theme) throws(TerminalUnavailable) {
        guard isatty(STDOUT_FILENO) == 1 else { throw TerminalUnavailable(reason: "standard output is not a terminal") }
        guard isatty(STDIN_FILENO) == 1 else { throw TerminalUnavailable(reason: "standard input is not a terminal, so no key could be read") }
        let termName = ProcessInfo.processInfo.environment["TERM"] ?? ""
        guard !termName.isEmpty else { throw TerminalUnavailable(reason: "TERM is not set") }
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        asciiOnly = codeset.uppercased().replacingOccurrences(of: "-", with: "") != "UTF8"
        glyphs = asciiOnly ? .ascii : .unicode
        use_tioctl(true)  // the terminal's own size wins over stale LINES/COLUMNS variables
        CrashRestore.saveShellModes()
        // newterm, unlike initscr, returns instead of exiting when terminfo has no entry.
        // Streams of their own on the two descriptors: C's stdout and stdin are shared mutable globals to Swift.
        guard let output = fdopen(STDOUT_FILENO, "w"), let input = fdopen(STDIN_FILENO, "r"),
              let screen = newterm(nil, output, input) else {
            throw TerminalUnavailable(reason: "terminfo has no entry for TERM=\(termName)")
        }
        guard Self.hasCapability("cup") && tigetflag("hc") <= 0 else {
            endwin()
            delscreen(screen)
            throw TerminalUnavailable(reason: "TERM=\(termName) cannot place the cursor, which a full-screen dashboard needs")
        }
        cbreak()
        noecho()
        Self.disableFlowControl()
        CrashRestore.install()
        keypad(dartscope_stdscr(), true)
        curs_set(0)
        timeout(100)
        var colors = 0
        if has_colors() && ProcessInfo.processInfo.environment["NO_COLOR"] == nil {
            start_color()
            use_default_colors()
            colors = Int(dartscope_colors())
        }
        self.colors = colors
        self.theme = theme
    }

    /// Whether terminfo gives the current terminal this string capability
    /// (tigetstr answers nil for absent, -1 for "not a string capability").
    private static func hasCapability(_ name: String) -> Bool {
        guard let value = tigetstr(name) else { return false }
        return Int(bitPattern: value) != -1
    }

    /// Turns XON/XOFF off: with it on, `C-s` stops the terminal's output
    /// and the dashboard looks frozen (only `C-q` thaws it), which is how
    /// editors and btop treat the two keys too. cbreak leaves IXON alone, and
    /// raw would also swallow `C-c`; def_prog_mode makes curses keep the
    /// change when it restores the program's modes (after a suspend).
    private static func disableFlowControl() {
        var modes = termios()
        guard tcgetattr(STDIN_FILENO, &modes) == 0 else { return }
        modes.c_iflag &= ~tcflag_t(IXON | IXOFF)
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &modes)
        def_prog_mode()
    }

    /// Monochrome when the theme or the terminal has no colour.
    public var monochrome: Bool { theme.monochrome || colors < 8 }

    public func setTheme(_ theme: Theme) {
        self.theme = theme
        pairs.removeAll()
    }

    public var size: (width: Int, height: Int) { (Int(dartscope_cols()), Int(dartscope_lines())) }

    /// Restores the terminal (idempotent).
    public func end() {
        if isendwin() == false { endwin() }
        CrashRestore.uninstall()
    }

    /// Copies the grid to the screen, one attribute run at a time.
    public func draw(_ grid: CellGrid) {
        erase()
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                let style = grid[x, y].style
                var run: [wchar_t] = []
                let start = x
                while x < grid.width && grid[x, y].style == style {
                    let character = asciiOnly ? grid[x, y].character.asciiStandIn : grid[x, y].character
                    for scalar in character.unicodeScalars.prefix(1) { run.append(wchar_t(bitPattern: scalar.value)) }
                    x += 1
                }
                run.append(0)
                _ = dartscope_set_attributes(attributes(for: style))
                _ = mvaddwstr(Int32(y), Int32(start), run)
            }
        }
        _ = dartscope_set_attributes(0)
        refresh()
    }

    private func attributes(for style: CellStyle) -> Int32 {
        var attributes: Int32 = style.bold ? dartscope_attr_bold() : 0
        guard !monochrome else {
            if case .title = style.foreground { attributes |= dartscope_attr_bold() }
            return attributes
        }
        let foreground = theme.colour(style.foreground, colors: colors)
        let background = style.background.map { theme.colour($0, colors: colors) } ?? (theme.roles["background"] ?? -1)
        let key = [foreground, background]
        if pairs[key] == nil, pairs.count + 1 < Int(dartscope_color_pairs()) {
            let number = Int16(pairs.count + 1)
            init_pair(number, Int16(foreground), Int16(background))
            pairs[key] = number
        }
        if let number = pairs[key] { attributes |= dartscope_color_pair(Int32(number)) }
        return attributes
    }

    /// The keys typed since the last frame: waits up to 100 ms for the first
    /// (so the screen keeps refreshing at about 10 frames per second), then
    /// takes whatever else is already queued, so typing or pasting a command
    /// is not slowed to one character per frame.
    public func readKeys() -> [Key] {
        var keys: [Key] = []
        timeout(100)
        while let key = readKey() {
            keys.append(key)
            timeout(0)
        }
        return keys
    }

    /// The next key, or nil when none arrived within the current timeout.
    func readKey() -> Key? {
        var character: wint_t = 0
        let result = get_wch(&character)
        guard result != ERR else { return nil }
        if result == KEY_CODE_YES {
            switch Int32(character) {
            case dartscope_key_resize(): return .resize
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_BACKSPACE: return .backspace
            case KEY_ENTER: return .enter
            case KEY_BTAB: return .backTab
            default: return nil
            }
        }
        switch character {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 127, 8: return .backspace
        default: return UnicodeScalar(UInt32(character)).map { .character(Character($0)) }
        }
    }
}

/// Why the dashboard cannot draw on this process's terminal; the caller
/// runs headless instead and says so.
public struct TerminalUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

public enum Key: Equatable, Sendable {
    case character(Character)
    case up, down, left, right, tab, backTab, enter, escape, backspace, resize
}
