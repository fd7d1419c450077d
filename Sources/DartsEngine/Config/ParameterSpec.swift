/// One configurable parameter: its key, type and range, default, whether it
/// can change while a search runs, and a line of documentation. The same
/// specification validates config files, `--set` overrides and the
/// dashboard's `:set`, so all three reject bad values the same way.
public struct ParameterSpec: Sendable {
    public enum Kind: Sendable {
        case integer(ClosedRange<Int>)
        case real(ClosedRange<Double>)
        case flag
        case choice([String])
        case text
    }

    public let key: String
    public let kind: Kind
    public let isLive: Bool
    public let documentation: String
    let read: @Sendable (SearchConfig) -> ConfigValue
    let write: @Sendable (inout SearchConfig, ConfigValue) -> Void

    /// What the parameter accepts, for error messages and help text.
    public var allowed: String {
        switch kind {
        case .integer(let range): range.upperBound == .max ? "an integer ≥ \(range.lowerBound)" : "an integer in \(range.lowerBound)…\(range.upperBound)"
        case .real(let range):
            range.upperBound == .infinity ? "a number ≥ \(formatReal(range.lowerBound))" : "a number in \(formatReal(range.lowerBound))…\(formatReal(range.upperBound))"
        case .flag: "true or false"
        case .choice(let options): "one of " + options.joined(separator: ", ")
        case .text: "text"
        }
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
        default:
            throw ConfigError.invalidValue(key: key, value: value.description, allowed: allowed)
        }
    }
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
