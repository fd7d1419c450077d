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

import Foundation
