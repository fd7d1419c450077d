import Foundation

extension SearchConfig {
    /// Resolves `--config NAME|FILE`: an existing file path, else
    /// `Configs/NAME.toml` in the working directory or in a parent folder of
    /// the executable (so `swift run` and an installed binary both find the
    /// shipped configs).
    public static func locate(_ nameOrPath: String) throws -> String {
        let manager = FileManager.default
        if manager.fileExists(atPath: nameOrPath), !nameOrPath.hasSuffix("/") { return nameOrPath }
        let file = nameOrPath.hasSuffix(".toml") ? nameOrPath : nameOrPath + ".toml"
        if let found = shippedFile(file) { return found }
        let shipped = (try? manager.contentsOfDirectory(atPath: manager.currentDirectoryPath + "/Configs")) ?? []
        let names = shipped.filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted()
        throw ConfigError.unreadable(path: nameOrPath, reason: "no such file, and no Configs/\(file)" + (names.isEmpty ? "" : " (shipped configs: \(names.joined(separator: ", ")))"))
    }

    /// `Configs/RELATIVE` in the working directory or in a parent folder of
    /// the executable, whichever exists first; nil when none does.
    public static func shippedFile(_ relative: String) -> String? {
        shippedFileCandidates(relative).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Where ``shippedFile(_:)`` looks, in order.
    static func shippedFileCandidates(_ relative: String) -> [String] {
        var candidates = [FileManager.default.currentDirectoryPath + "/Configs/" + relative]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Configs/" + relative).path)
            directory = directory.deletingLastPathComponent()
        }
        return candidates
    }
}
