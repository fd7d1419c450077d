import Foundation

/// A configuration value as written in a TOML file, a `--set` override or a
/// `:set` command.
public enum ConfigValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case integer(Int)
    case real(Double)
    case flag(Bool)
    case text(String)

    public var description: String {
        switch self {
        case .integer(let v): String(v)
        case .real(let v): formatReal(v)
        case .flag(let v): v ? "true" : "false"
        case .text(let v): v
        }
    }

    /// Reads a value typed on a command line or in the dashboard: a number,
    /// `true`/`false`/`on`/`off`, or otherwise text.
    public static func parse(_ text: String) -> ConfigValue {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let v = Int(trimmed) { return .integer(v) }
        if let v = Double(trimmed), v.isFinite { return .real(v) }
        switch trimmed.lowercased() {
        case "true", "on", "yes": return .flag(true)
        case "false", "off", "no": return .flag(false)
        default:
            if trimmed.count >= 2, trimmed.first == "\"", trimmed.last == "\"" { return .text(String(trimmed.dropFirst().dropLast())) }
            return .text(trimmed)
        }
    }
}

/// A compact rendering of a real number: plain for ordinary magnitudes,
/// scientific for very small or large ones.
public func formatReal(_ value: Double) -> String {
    if value == 0 { return "0" }
    let magnitude = abs(value)
    if magnitude >= 1e-3 && magnitude < 1e6 {
        var text = String(format: "%.6g", value)
        if !text.contains(".") && !text.contains("e") { text += ".0" }
        return text
    }
    return String(format: "%.3g", value)
}

extension ConfigValue {
    /// A plain JSON scalar: `3`, `0.125`, `true`, `"corr"`. Journals written
    /// before telemetry schema 2 spelled values as `{"real":{"_0":0.125}}`;
    /// that form still decodes, so old journals replay.
    public init(from decoder: Decoder) throws {
        if let legacy = try? decoder.container(keyedBy: LegacyKey.self), let key = legacy.allKeys.first {
            let payload = try legacy.nestedContainer(keyedBy: LegacyKey.self, forKey: key)
            switch key {
            case .integer: self = .integer(try payload.decode(Int.self, forKey: ._0))
            case .real: self = .real(try payload.decode(Double.self, forKey: ._0))
            case .flag: self = .flag(try payload.decode(Bool.self, forKey: ._0))
            case .text: self = .text(try payload.decode(String.self, forKey: ._0))
            case ._0: throw DecodingError.dataCorruptedError(forKey: key, in: legacy, debugDescription: "not a config value")
            }
            return
        }
        let container = try decoder.singleValueContainer()
        if let v = try? container.decode(Bool.self) { self = .flag(v) }
        else if let v = try? container.decode(Int.self) { self = .integer(v) }
        else if let v = try? container.decode(Double.self) { self = .real(v) }
        else { self = .text(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .integer(let v): try container.encode(v)
        case .real(let v): try container.encode(v)
        case .flag(let v): try container.encode(v)
        case .text(let v): try container.encode(v)
        }
    }

    private enum LegacyKey: String, CodingKey { case integer, real, flag, text, _0 }

    public var flagValue: Bool? { if case .flag(let v) = self { v } else { nil } }
    public var textValue: String? { if case .text(let v) = self { v } else { nil } }
    /// Reals and integers as a Double.
    public var realValue: Double? {
        switch self {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
}
