import Foundation

/// Colours for the dashboard, read from a `Themes/NAME.theme` data file:
/// `key = value` lines, `#` comments. Roles map to xterm colour numbers; the
/// heatmap ramps are lists; `*_16` lists serve 8/16-colour terminals;
/// `monochrome = true` draws heatmaps with shading glyphs instead.
public struct Theme: Sendable, Equatable {
    public var name: String
    public var roles: [String: Int] = [:]
    public var sequential: [Int] = []
    public var sequential16: [Int] = []
    public var diverging: [Int] = []
    public var diverging16: [Int] = []
    public var monochrome = false

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case malformed(file: String, line: Int, reason: String)
        case notFound(String, available: [String])

        public var description: String {
            switch self {
            case .malformed(let file, let line, let reason): "\(file):\(line): \(reason)"
            case .notFound(let name, let available): "no theme named '\(name)' (available: \(available.joined(separator: ", ")))"
            }
        }
    }

    static let roleKeys: Set<String> = ["text", "dim", "accent", "border", "title", "good", "warning", "bad", "background"]

    public static func parse(_ text: String, name: String, file: String) throws(Error) -> Theme {
        var theme = Theme(name: name)
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw .malformed(file: file, line: number + 1, reason: "expected 'key = value', got '\(line)'")
            }
            let (key, value) = (parts[0], parts[1])
            func colours() throws(Error) -> [Int] {
                var result: [Int] = []
                for token in value.split(separator: " ") {
                    guard let colour = Int(token), (-1...255).contains(colour) else {
                        throw .malformed(file: file, line: number + 1, reason: "'\(token)' is not a colour number (-1…255)")
                    }
                    result.append(colour)
                }
                return result
            }
            switch key {
            case _ where roleKeys.contains(key):
                let list = try colours()
                guard list.count == 1 else { throw .malformed(file: file, line: number + 1, reason: "\(key) takes one colour number") }
                theme.roles[key] = list[0]
            case "sequential": theme.sequential = try colours()
            case "sequential_16": theme.sequential16 = try colours()
            case "diverging": theme.diverging = try colours()
            case "diverging_16": theme.diverging16 = try colours()
            case "monochrome":
                guard value == "true" || value == "false" else { throw .malformed(file: file, line: number + 1, reason: "monochrome is true or false") }
                theme.monochrome = value == "true"
            default:
                throw .malformed(file: file, line: number + 1, reason: "unknown key '\(key)'")
            }
        }
        if !theme.monochrome {
            for required in ["text", "dim", "accent", "border", "title", "good", "warning", "bad"] where theme.roles[required] == nil {
                throw .malformed(file: file, line: 0, reason: "missing '\(required)'")
            }
            if theme.sequential.isEmpty || theme.diverging.isEmpty {
                throw .malformed(file: file, line: 0, reason: "missing 'sequential' or 'diverging' ramp")
            }
        }
        return theme
    }

    /// The themes shipped in `Themes/` (found beside the working directory
    /// or a parent folder of the executable), by name.
    public static func directory() -> String? {
        let manager = FileManager.default
        var candidates = [manager.currentDirectoryPath + "/Themes"]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.appendingPathComponent("Themes").path)
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { manager.fileExists(atPath: $0) }
    }

    public static func available() -> [String] {
        guard let directory = directory() else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".theme") }.map { String($0.dropLast(6)) }.sorted()
    }

    public static func load(_ name: String) throws(Error) -> Theme {
        let path = name.contains("/") ? name : (directory() ?? "Themes") + "/\(name).theme"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .notFound(name, available: available())
        }
        return try parse(text, name: (name as NSString).lastPathComponent.replacingOccurrences(of: ".theme", with: ""), file: path)
    }

    /// Built in, so the dashboard never starts without colours.
    public static let fallback = Theme(name: "builtin", roles: ["text": 7, "dim": 8, "accent": 6, "border": 8, "title": 6, "good": 2, "warning": 3, "bad": 1, "background": -1],
                                       sequential: [0, 4, 6, 2, 3, 7], sequential16: [0, 4, 6, 2, 3, 7], diverging: [1, 0, 2], diverging16: [1, 0, 2])

    /// The colour number of a role on a terminal with `colors` colours.
    public func colour(_ role: ColorRole, colors: Int) -> Int {
        func pick(_ ramp: [Int], _ small: [Int], _ index: Int, _ count: Int) -> Int {
            let list = colors >= 256 || small.isEmpty ? ramp : small
            guard !list.isEmpty else { return -1 }
            return list[min(list.count - 1, index * list.count / max(count, 1))]
        }
        switch role {
        case .sequential(let index, let count): return pick(sequential, sequential16, index, count)
        case .diverging(let index, let count): return pick(diverging, diverging16, index, count)
        case .text: return roles["text"] ?? -1
        case .dim: return roles["dim"] ?? -1
        case .accent: return roles["accent"] ?? -1
        case .border: return roles["border"] ?? -1
        case .title: return roles["title"] ?? -1
        case .good: return roles["good"] ?? -1
        case .warning: return roles["warning"] ?? -1
        case .bad: return roles["bad"] ?? -1
        }
    }
}
