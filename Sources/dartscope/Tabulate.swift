import ArgumentParser
import DartsEngine
import Foundation

struct Tabulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate every architecture of a small space: the tabular ground truth for regret.",
        discussion: """
            Each architecture is the supernet with one-hot mixing weights, trained with the config's optimiser \
            and epochs on the search-train split under each of --seeds seeds (search.seed, search.seed + 1, ...) \
            and evaluated on the validation split; the table holds each architecture's mean and standard deviation \
            and the rank agreement (Kendall τ, Spearman ρ, top-5 overlap) of every pair of seeds. Results are \
            appended to OUTPUT.partial.jsonl as they finish, so an interrupted run continues where it stopped.
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

    @Option(help: "Seeds to train every architecture with: search.seed and the ones after it (a ground truth needs at least 2).")
    var seeds = 2

    @Option(name: .customLong("jobs"), help: "Architectures trained at a time, each on one thread (1: one at a time on search.threads).")
    var parallelJobs = 1

    @Option(help: "Train only N architectures drawn from the space, the same ones every time (a pilot for choosing a budget: its seed agreement, its cost).")
    var sample: Int?

    @Option(name: .customLong("architecture"), help: "Train only this architecture (its operations per edge, comma separated; repeatable): a pilot on the architectures a budget must tell apart.")
    var onlyArchitectures: [String] = []

    func validate() throws {
        if sample != nil, !onlyArchitectures.isEmpty { throw ValidationError("--sample and --architecture choose the architectures two ways; give one") }
        if !onlyArchitectures.isEmpty, Set(onlyArchitectures).count < 2 {
            throw ValidationError("--architecture needs at least 2 different architectures to rank, got 1")
        }
        if let sample, sample < 2 { throw ValidationError("--sample needs at least 2 architectures to rank, got \(sample)") }
        guard (1...20).contains(seeds) else { throw ValidationError("--seeds must be in 1…20, got \(seeds)") }
        guard (1...64).contains(parallelJobs) else { throw ValidationError("--jobs must be in 1…64, got \(parallelJobs)") }
    }

    func run() throws {
        var config = try loadConfig(name: self.config, overrides: overrides + (space.map { ["network.space=\($0)"] } ?? []), data: data)
        config.tabularTable = "none"
        setThreadCount(config.threads)
        guard let space = SearchSpace.named(config.space) else { throw ValidationError("unknown space \(config.space)") }
        var architectures: [[Int]]
        do { architectures = try TabularBenchmark.architectures(of: space, sample: sample) } catch { throw ValidationError("\(error)") }
        let chosen = try onlyArchitectures.map { name in
            guard let architecture = TabularBenchmark.architecture(named: name, in: space) else {
                throw ValidationError("--architecture \(name) is not an architecture of \(space.name): one of "
                                      + "\(space.normalOperations[0].map(\.rawValue).joined(separator: ", ")) per edge, \(space.normalOperations.count) edges, comma separated")
            }
            return architecture
        }
        if !chosen.isEmpty { architectures = architectures.filter(chosen.contains) }
        let dataset = try loadDataset(for: config)
        let output = self.output ?? TabularTable.defaultPath(space: config.space, dataset: config.dataset)
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: output).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        let partialPath = output + ".partial.jsonl"
        let seedList = (0..<seeds).map { config.seed + $0 }
        let budget = Dictionary(uniqueKeysWithValues: SearchParameters.all.compactMap { spec in
            (try? config.value(of: spec.key)).map { (spec.key, $0.description) }
        })
        let header = TabulationHeader(space: config.space, dataset: config.dataset, budget: budget)
        var finished = try Self.finishedEntries(at: partialPath, defaultSeed: config.seed, expecting: header)
        let jobs = seedList.flatMap { seed in architectures.map { (architecture: $0, seed: seed) } }
        if !finished.isEmpty { log("dartscope: continuing \(partialPath): \(finished.count) of \(jobs.count) done (architecture × seed runs)") }
        log("dartscope: tabulating \(architectures.count) architectures of \(config.space) on \(dataset.name) (\(dataset.count) images), \(config.epochs) epochs each, seeds \(seedList.map(String.init).joined(separator: ", "))")

        let pending = jobs.filter { finished[Self.runKey(TabularBenchmark.name(of: $0.architecture, in: space), $0.seed)] == nil }
        if finished.isEmpty { try Self.start(partialPath, with: header) }
        let progress = TabulationProgress(finished: finished, total: jobs.count, partialPath: partialPath)
        // Several architectures at a time, each on one thread, or one at a
        // time on search.threads: the parallel loops serve one engine at a
        // time, so concurrent jobs run theirs on their own thread.
        if parallelJobs > 1 { setThreadCount(1) }
        let next = JobQueue(pending)
        let budgetConfig = config
        DispatchQueue.concurrentPerform(iterations: min(parallelJobs, max(pending.count, 1))) { _ in
            while let job = next.take(), !progress.failed {
                var seeded = budgetConfig
                seeded.seed = job.seed
                do {
                    progress.finish(try TabularBenchmark.train(job.architecture, config: seeded, dataset: dataset))
                } catch {
                    progress.fail(error)
                }
            }
        }
        if let error = progress.error { throw ValidationError("\(error)") }
        finished = progress.finished

        let table = TabularTable.combining(
            Array(finished.values), architectures: architectures.map { TabularBenchmark.name(of: $0, in: space) }, seeds: seedList,
            space: config.space, dataset: config.dataset,
            command: (["dartscope", "tabulate"] + CommandLine.arguments.dropFirst(2)).joined(separator: " "), budget: budget)
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
        let spread = seeds > 1
            ? String(format: "; mean standard deviation over seeds %.4f", table.entries.compactMap(\.validAccuracyStd).reduce(0, +) / Double(table.entries.count))
            : "; one seed, so no spread or agreement"
        log(String(format: "dartscope: wrote %@: best %@ (%.4f), worst %.4f, median %.4f", output, table.best!.architecture,
                   table.best!.validAccuracy, accuracies.min()!, accuracies.sorted()[accuracies.count / 2]) + spread)
        for pair in table.seedAgreement ?? [] {
            log(String(format: "dartscope: seeds %d and %d rank alike: Kendall τ %.3f, Spearman ρ %.3f, top-5 overlap %d/5",
                       pair.seeds[0], pair.seeds[1], pair.agreement.kendallTau, pair.agreement.spearmanRho, pair.agreement.topFiveOverlap))
        }
    }

    /// Runs of an interrupted tabulation by `ARCHITECTURE@SEED` (entries
    /// written before seeds were recorded count as `defaultSeed`'s); a torn
    /// last line (the interruption) is dropped. A partial file that starts
    /// with a header must have been made for `expected`'s space, dataset and
    /// budget: entries trained under another budget would be averaged with
    /// this one's into a table that is neither.
    static func finishedEntries(at path: String, defaultSeed: Int, expecting expected: TabulationHeader) throws -> [String: TabularEntry] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: TabularEntry] = [:]
        var lines = text.split(separator: "\n")
        var headerLines = 0
        if let first = lines.first, let header = try? JSONDecoder().decode(TabulationHeader.self, from: Data(first.utf8)) {
            let differences = header.differences(from: expected)
            guard differences.isEmpty else {
                throw ValidationError("\(path) was made for another budget (\(differences.joined(separator: "; "))); "
                                      + "tabulate with its budget to continue it, or delete it to start over")
            }
            lines.removeFirst()
            headerLines = 1
        }
        for (number, line) in lines.enumerated() {
            guard let entry = try? JSONDecoder().decode(TabularEntry.self, from: Data(line.utf8)) else {
                if number == lines.count - 1 { continue }
                throw ValidationError("\(path) line \(headerLines + number + 1) is not a tabular entry; delete the file to start over")
            }
            result[runKey(entry.architecture, entry.seed ?? defaultSeed)] = entry
        }
        return result
    }

    /// Starts a partial file with the header its entries are trained under.
    static func start(_ path: String, with header: TabulationHeader) throws {
        try? FileManager.default.removeItem(atPath: path)
        do { try DurableFiles.appendLine(try JSONEncoder().encode(header), to: path) } catch { throw ValidationError("\(error)") }
    }

    /// A run of one architecture under one seed, as finished runs are keyed.
    static func runKey(_ architecture: String, _ seed: Int) -> String { "\(architecture)@\(seed)" }

    static func append(_ entry: TabularEntry, to path: String) throws {
        do { try DurableFiles.appendLine(try JSONEncoder().encode(entry), to: path) } catch { throw ValidationError("\(error)") }
    }

    static func progressBar(done: Int, of total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? done * width / total : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }
}

/// The jobs of a tabulation, handed out one at a time to the workers.
final class JobQueue<Job: Sendable>: @unchecked Sendable {
    // @unchecked: `jobs` is guarded by `lock`.
    private let lock = NSLock()
    private var jobs: ArraySlice<Job>

    init(_ jobs: [Job]) { self.jobs = jobs[...] }

    func take() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        return jobs.popFirst()
    }
}

/// Finished runs of a tabulation, appended to its partial file and
/// reported with an ETA as each ends, whichever worker ran it.
final class TabulationProgress: @unchecked Sendable {
    // @unchecked: every stored property is guarded by `lock`.
    private let lock = NSLock()
    private(set) var finished: [String: TabularEntry]
    private(set) var error: Error?
    private let total: Int
    private let partialPath: String
    private let started = Date()
    private var trainedNow = 0

    init(finished: [String: TabularEntry], total: Int, partialPath: String) {
        self.finished = finished
        self.total = total
        self.partialPath = partialPath
    }

    var failed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return error != nil
    }

    func fail(_ error: Error) {
        lock.lock()
        defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }

    func finish(_ entry: TabularEntry) {
        lock.lock()
        defer { lock.unlock() }
        do { try Tabulate.append(entry, to: partialPath) } catch {
            if self.error == nil { self.error = error }
            return
        }
        finished[Tabulate.runKey(entry.architecture, entry.seed ?? 0)] = entry
        trainedNow += 1
        let eta = Date().timeIntervalSince(started) / Double(trainedNow) * Double(total - finished.count)
        log(Tabulate.progressBar(done: finished.count, of: total)
            + String(format: " %d/%d  %@ seed %d  acc %.4f  %.1f s  ETA %@", finished.count, total, entry.architecture, entry.seed ?? 0,
                     entry.validAccuracy, entry.trainSeconds, formatDuration(eta)))
    }
}

/// The first line of a tabulation's partial file: what its entries are
/// trained under, so a continuation with another budget is refused.
struct TabulationHeader: Codable, Equatable {
    var space: String
    var dataset: String
    var budget: [String: String]

    /// Parameters that do not change what an architecture's entry measures:
    /// the seed (entries carry their own), threads (bit-identical), and
    /// where files come from and go.
    /// Keys that do not change what an architecture's training computes
    /// (`network.alphas`: a tabulated architecture is one choice for all cells).
    static let irrelevantKeys: Set<String> = ["search.seed", "search.threads", "run.name", "tabular.table", "data.dir", "network.alphas"]

    /// "key: partial file A, now B" for every relevant difference.
    func differences(from other: TabulationHeader) -> [String] {
        var result: [String] = []
        if space != other.space { result.append("space: partial file \(space), now \(other.space)") }
        if dataset != other.dataset { result.append("dataset: partial file \(dataset), now \(other.dataset)") }
        let keys = Set(budget.keys).union(other.budget.keys).filter {
            !Self.irrelevantKeys.contains($0) && !$0.hasPrefix("snapshot.") && !$0.hasPrefix("metrics.")
        }
        for key in keys.sorted() where budget[key] != other.budget[key] {
            result.append("\(key): partial file \(budget[key] ?? "unset"), now \(other.budget[key] ?? "unset")")
        }
        return result
    }
}
