import ArgumentParser
import DartsEngine
import Foundation

struct Tabulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate every architecture of a small space: the tabular ground truth for regret.",
        discussion: """
            Each architecture is the supernet with one-hot mixing weights, trained with the config's optimiser, \
            seed and epochs on the search-train split and evaluated on the validation split. Results are appended \
            to OUTPUT.partial.jsonl as they finish, so an interrupted run continues where it stopped.
            """)

    @Option(help: "A config name from Configs/ or a TOML file (the budget).")
    var config = "tabular-tiny"

    @Option(name: .customLong("set"), help: "Override a parameter: --set key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "The space to tabulate (same as --set network.space=NAME).")
    var space: String?

    @Option(help: "Dataset folder (same as --set data.dir=DIR).")
    var data: String?

    @Option(help: "The table to write (.json or .csv); default Configs/tabular/SPACE-DATASET.json.")
    var output: String?

    func run() throws {
        var config = try loadConfig(name: self.config, overrides: overrides + (space.map { ["network.space=\($0)"] } ?? []), data: data)
        config.tabularTable = "none"
        setThreadCount(config.threads)
        guard let space = SearchSpace.named(config.space) else { throw ValidationError("unknown space \(config.space)") }
        let architectures: [[Int]]
        do { architectures = try TabularBenchmark.architectures(of: space) } catch { throw ValidationError("\(error)") }
        let dataset = try loadDataset(for: config)
        let output = self.output ?? TabularTable.defaultPath(space: config.space, dataset: config.dataset)
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        let partialPath = output + ".partial.jsonl"
        var finished = try Self.finishedEntries(at: partialPath)
        if !finished.isEmpty { log("dartscope: continuing \(partialPath): \(finished.count) of \(architectures.count) done") }
        log("dartscope: tabulating \(architectures.count) architectures of \(config.space) on \(dataset.name) (\(dataset.count) images), \(config.epochs) epochs each")

        let started = Date()
        var trainedNow = 0
        for architecture in architectures {
            let name = TabularBenchmark.name(of: architecture, in: space)
            guard finished[name] == nil else { continue }
            let entry: TabularEntry
            do { entry = try TabularBenchmark.train(architecture, config: config, dataset: dataset) } catch { throw ValidationError("\(error)") }
            try Self.append(entry, to: partialPath)
            finished[name] = entry
            trainedNow += 1
            let remaining = architectures.count - finished.count
            let eta = Date().timeIntervalSince(started) / Double(trainedNow) * Double(remaining)
            log(Self.progressBar(done: finished.count, of: architectures.count)
                + String(format: " %d/%d  %@  acc %.4f  %.1f s  ETA %@", finished.count, architectures.count, name,
                         entry.validAccuracy, entry.trainSeconds, formatDuration(eta)))
        }

        let budget = Dictionary(uniqueKeysWithValues: SearchParameters.all.compactMap { spec in
            (try? config.value(of: spec.key)).map { (spec.key, $0.description) }
        })
        let table = TabularTable(
            space: config.space, dataset: config.dataset,
            command: (["dartscope", "tabulate"] + CommandLine.arguments.dropFirst(2)).joined(separator: " "),
            budget: budget, entries: architectures.map { finished[TabularBenchmark.name(of: $0, in: space)]! })
        let data: Data
        if output.hasSuffix(".csv") {
            data = Data(table.csv().utf8)
        } else {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            data = try encoder.encode(table)
        }
        try data.write(to: URL(fileURLWithPath: output), options: .atomic)
        try? FileManager.default.removeItem(atPath: partialPath)
        let accuracies = table.entries.map(\.validAccuracy)
        log(String(format: "dartscope: wrote %@: best %@ (%.4f), worst %.4f, median %.4f", output, table.best!.architecture,
                   table.best!.validAccuracy, accuracies.min()!, accuracies.sorted()[accuracies.count / 2]))
    }

    /// Entries of an interrupted run; a torn last line (the interruption) is dropped.
    static func finishedEntries(at path: String) throws -> [String: TabularEntry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: TabularEntry] = [:]
        let lines = text.split(separator: "\n")
        for (number, line) in lines.enumerated() {
            guard let entry = try? JSONDecoder().decode(TabularEntry.self, from: Data(line.utf8)) else {
                if number == lines.count - 1 { continue }
                throw ValidationError("\(path) line \(number + 1) is not a tabular entry; delete the file to start over")
            }
            result[entry.architecture] = entry
        }
        return result
    }

    static func append(_ entry: TabularEntry, to path: String) throws {
        do { try DurableFiles.appendLine(try JSONEncoder().encode(entry), to: path) } catch { throw ValidationError("\(error)") }
    }

    static func progressBar(done: Int, of total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? done * width / total : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }
}
