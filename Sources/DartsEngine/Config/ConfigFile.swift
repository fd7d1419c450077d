import Foundation
import TOMLKit

extension SearchConfig {
    /// Reads a TOML config: tables named after the key prefixes (`[data]`,
    /// `[network]`, ...) holding the parameters of ``SearchParameters``.
    /// Parameters a file leaves out keep their defaults; unknown keys, wrong
    /// types and out-of-range values are errors naming the file and key.
    public static func load(path: String) throws -> SearchConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(toml: text, source: path)
    }

    public static func parse(toml text: String, source: String) throws -> SearchConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError.syntax(file: source, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        }
        var config = SearchConfig()
        for (key, value) in flatten(table, prefix: "") {
            do {
                try config.set(key, to: value)
            } catch {
                throw ConfigError.inFile(path: source, problem: error.description)
            }
        }
        do {
            try config.validateCombination()
        } catch {
            throw ConfigError.inFile(path: source, problem: error.description)
        }
        return config
    }

    static func flatten(_ table: TOMLTable, prefix: String) -> [(String, ConfigValue)] {
        var result: [(String, ConfigValue)] = []
        for key in table.keys.sorted() {
            guard let value = table[key] else { continue }
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            if let nested = value.table {
                result += flatten(nested, prefix: name)
            } else if let v = value.int {
                result.append((name, .integer(v)))
            } else if let v = value.double {
                result.append((name, .real(v)))
            } else if let v = value.bool {
                result.append((name, .flag(v)))
            } else if let v = value.string {
                result.append((name, .text(v)))
            } else {
                result.append((name, .text(value.debugDescription)))
            }
        }
        return result
    }

    /// The config as TOML, every parameter listed with its documentation —
    /// what a snapshot records and what `dartscope config --show` prints.
    public func toml() -> String {
        var lines: [String] = []
        var currentTable = ""
        for spec in SearchParameters.all {
            let parts = spec.key.split(separator: ".", maxSplits: 1).map(String.init)
            if parts[0] != currentTable {
                if !lines.isEmpty { lines.append("") }
                lines.append("[\(parts[0])]")
                currentTable = parts[0]
            }
            let value = spec.read(self)
            let rendered = switch value {
            case .text(let s): "\"\(s)\""
            case .real(let v): String(v)
            default: value.description
            }
            lines.append("# \(spec.documentation) (\(spec.allowed)\(spec.isLive ? "; live" : ""))")
            lines.append("\(parts[1]) = \(rendered)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
