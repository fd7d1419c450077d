import DartsEngine
import Foundation
import Testing

/// Runs the real `dartscope` executable (built beside this test bundle).
struct DartscopeProcess {
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("dartscope").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], in directory: String) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite("headless end to end", .serialized)
struct HeadlessEndToEndTests {
    static let tiny = [
        "--set", "data.dataset=synthetic", "--set", "data.subset=64", "--set", "data.synthetic_size=8",
        "--set", "network.init_channels=2", "--set", "network.layers=3", "--set", "search.batch_size=8",
        "--set", "search.epochs=2", "--set", "metrics.alpha_every=2",
    ]

    @Test func headlessSearchWritesMetricsAndSnapshots() throws {
        #expect(FileManager.default.isExecutableFile(atPath: DartscopeProcess.executable), "build the dartscope executable first")
        let directory = EngineFixture.temporaryDirectory()
        let result = try DartscopeProcess.run(["run", "--config", "default", "--headless", "--set", "run.name=e2e"] + Self.tiny, in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Genotype(normal=["))
        #expect(result.stderr.contains("epoch 2: train loss"))

        let lines = try String(contentsOfFile: directory + "/runs/e2e/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let events = try lines.map { try JSONDecoder().decode(MetricEvent.self, from: Data($0.utf8)) }
        let steps = events.filter { $0.type == "step" }
        #expect(steps.map(\.step) == Array(1...8))
        #expect(steps.allSatisfy { ($0["train_loss"]?.doubleValue ?? .nan).isFinite && $0["valid_acc"] != nil && $0["lr"] != nil })
        let epochs = events.filter { $0.type == "epoch" }
        #expect(epochs.map(\.epoch) == [0, 1])
        #expect(epochs.allSatisfy { $0["valid_acc"]?.doubleValue != nil && $0["skip_count"] != nil })
        if case .string(let genotype)? = epochs.last?["genotype"] {
            #expect(result.stdout.contains(genotype))
        } else {
            Issue.record("epoch event without a genotype")
        }
        let alphas = events.filter { $0.type == "alphas" }
        #expect(alphas.count == 4 + 2)
        if case .array(let rows)? = alphas.last?["softmax_normal"] { #expect(rows.count == 4, "the default space, tiny-s3, has 4 normal edges") } else { Issue.record("no softmax_normal") }
        #expect(events.contains { $0.type == "snapshot" })

        // The epoch-1 snapshot resumes, and its genotype command agrees.
        let snapshot = directory + "/runs/e2e/snapshots/epoch-0001"
        let resumed = try DartscopeProcess.run(["resume", snapshot, "--headless", "--name", "e2e-fork", "--set", "optim.lr=0.01"], in: directory)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed") && resumed.stderr.contains("step 4"))
        let genotype = try DartscopeProcess.run(["genotype", snapshot], in: directory)
        #expect(genotype.status == 0 && genotype.stdout.hasPrefix("Genotype("))
        let dot = try DartscopeProcess.run(["export", snapshot, "--format", "dot"], in: directory)
        #expect(dot.stdout.hasPrefix("digraph genotype"))
    }

    @Test func tabulateContinuesAnInterruptedTable() throws {
        let directory = EngineFixture.temporaryDirectory()
        let output = directory + "/tiny.json"
        // Two architectures finished before the "interruption", the third torn mid-line.
        let done = ["skip_connect,skip_connect,skip_connect,skip_connect", "max_pool_3x3,max_pool_3x3,max_pool_3x3,max_pool_3x3"]
        let partial = done.map { #"{"architecture":"\#($0)","valid_acc":0.125,"valid_loss":9,"parameters":1,"train_seconds":0}"# }
            .joined(separator: "\n") + "\n{\"architecture\":\"sep_co"
        try partial.write(toFile: output + ".partial.jsonl", atomically: true, encoding: .utf8)
        let result = try DartscopeProcess.run([
            "tabulate", "--output", output, "--set", "data.dataset=synthetic", "--set", "data.subset=64", "--set", "data.synthetic_size=8",
            "--set", "network.init_channels=2", "--set", "network.layers=3", "--set", "search.batch_size=8", "--set", "search.epochs=1",
            "--seeds", "1",
        ], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("continuing") && result.stderr.contains("2 of 81 done"), "\(result.stderr)")
        #expect(result.stderr.contains("81/81"))
        let table = try JSONDecoder().decode(TabularTable.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(table.entries.count == 81 && table.space == "tiny")
        #expect(done.allSatisfy { table.entry(for: $0)?.validAccuracy == 0.125 }, "finished entries must be kept, not retrained")
        #expect(table.entries.filter { $0.validLoss != 9 }.allSatisfy { $0.validLoss.isFinite && $0.trainSeconds > 0 })
        #expect(table.budget["search.epochs"] == "1")
        #expect(!FileManager.default.fileExists(atPath: output + ".partial.jsonl"))
    }

    @Test func tabulateRefusesToContinueATableOfAnotherBudget() throws {
        let directory = EngineFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/tiny.json"
        let header = #"{"space":"tiny","dataset":"synthetic","budget":{"search.epochs":"2","search.seed":"9"}}"#
        let entry = #"{"architecture":"skip_connect,skip_connect,skip_connect,skip_connect","valid_acc":0.125,"valid_loss":9,"parameters":1,"train_seconds":0}"#
        try (header + "\n" + entry + "\n").write(toFile: output + ".partial.jsonl", atomically: true, encoding: .utf8)
        let result = try DartscopeProcess.run([
            "tabulate", "--output", output, "--set", "data.dataset=synthetic", "--set", "data.subset=64", "--set", "search.epochs=1", "--seeds", "1",
        ], in: directory)
        #expect(result.status != 0)
        #expect(result.stderr.contains("made for another budget") && result.stderr.contains("search.epochs: partial file 2, now 1"), "\(result.stderr)")
        #expect(!result.stderr.contains("search.seed:"), "the seed is not part of the budget")
        #expect(try String(contentsOfFile: output + ".partial.jsonl", encoding: .utf8).hasPrefix(header), "the partial file is kept as it was")
    }

    /// Every architecture under two seeds: mean, spread, and how alike the seeds rank them.
    @Test func tabulateTrainsEverySeedAndReportsTheirAgreement() throws {
        let directory = EngineFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/tiny.json"
        let result = try DartscopeProcess.run([
            "tabulate", "--output", output, "--seeds", "2", "--set", "search.seed=7", "--set", "data.dataset=synthetic",
            "--set", "data.subset=64", "--set", "data.synthetic_size=8", "--set", "network.init_channels=2", "--set", "network.layers=3",
            "--set", "search.batch_size=8", "--set", "search.epochs=1",
        ], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("162/162") && result.stderr.contains("seeds 7 and 8 rank alike: Kendall τ"), "\(result.stderr.suffix(400))")
        let table = try JSONDecoder().decode(TabularTable.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(table.seeds == [7, 8] && table.entries.count == 81)
        for entry in table.entries {
            let runs = try #require(entry.seedAccuracies)
            #expect(runs.count == 2 && abs(entry.validAccuracy - (runs[0] + runs[1]) / 2) < 1e-12)
            #expect(abs((entry.validAccuracyStd ?? .nan) - abs(runs[0] - runs[1]) / 2.squareRoot()) < 1e-12)
        }
        let pair = try #require(table.seedAgreement?.first)
        #expect(pair.seeds == [7, 8] && abs(pair.agreement.kendallTau) <= 1 && (0...5).contains(pair.agreement.topFiveOverlap))
        #expect(pair.agreement == RankAgreement(table.entries.map { $0.seedAccuracies![0] }, table.entries.map { $0.seedAccuracies![1] }))

        // Two architectures at a time, one thread each: the same numbers.
        let concurrent = try DartscopeProcess.run([
            "tabulate", "--output", directory + "/jobs.json", "--seeds", "2", "--jobs", "2", "--set", "search.seed=7",
            "--set", "data.dataset=synthetic", "--set", "data.subset=64", "--set", "data.synthetic_size=8", "--set", "network.init_channels=2",
            "--set", "network.layers=3", "--set", "search.batch_size=8", "--set", "search.epochs=1",
        ], in: directory)
        #expect(concurrent.status == 0, "\(concurrent.stderr)")
        let parallel = try JSONDecoder().decode(TabularTable.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/jobs.json")))
        #expect(parallel.entries.map(\.seedAccuracies) == table.entries.map(\.seedAccuracies))
        #expect(parallel.seedAgreement == table.seedAgreement)
    }

    @Test func badInputStopsWithASpecificMessage() throws {
        let directory = EngineFixture.temporaryDirectory()
        let unknown = try DartscopeProcess.run(["run", "--headless", "--set", "optim.lerning_rate=1"], in: directory)
        #expect(unknown.status == 64)  // EX_USAGE, as swift-argument-parser's own validation errors
        #expect(unknown.stderr.contains("unknown parameter 'optim.lerning_rate'"))
        #expect(!unknown.stderr.contains("Usage:"), "the root command's usage line says nothing about a bad value")
        let missing = try DartscopeProcess.run(["run", "--headless", "--set", "data.dir=/nonexistent"], in: directory)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("dataset file not found: /nonexistent/train-images-idx3-ubyte.gz"))
        let structural = try DartscopeProcess.run(["resume", "/nonexistent-snapshot"], in: directory)
        #expect(structural.status != 0 && structural.stderr.contains("no snapshot named '/nonexistent-snapshot'"))
    }

    /// `--steps N` stops a run after N steps with a snapshot of exactly that
    /// point, and `resume --steps` continues it by N more; `hessian --json`
    /// names the batch it used.
    @Test func stepsStopsWithASnapshotAndHessianNamesItsBatch() throws {
        let directory = EngineFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try DartscopeProcess.run(["run", "--config", "default", "--headless", "--set", "run.name=steps", "--steps", "3"] + Self.tiny, in: directory)
        #expect(first.status == 0, "\(first.stderr)")
        let snapshot = directory + "/runs/steps/snapshots/steps-3"
        #expect(try LoadedSnapshot(path: snapshot).step == 3)
        let lines = try String(contentsOfFile: directory + "/runs/steps/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        let steps = try lines.map { try TelemetryEvent(jsonLine: $0) }.filter { $0.type == "step" }.map(\.step)
        #expect(steps == [1, 2, 3])
        let resumed = try DartscopeProcess.run(["resume", snapshot, "--headless", "--steps", "2"], in: directory)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try LoadedSnapshot(path: directory + "/runs/steps/snapshots/steps-5").step == 5)
        let refused = try DartscopeProcess.run(["run", "--headless", "--steps", "0"] + Self.tiny, in: directory)
        #expect(refused.status != 0 && refused.stderr.contains("--steps must be at least 1"), "\(refused.stderr)")

        let hessian = try DartscopeProcess.run(["hessian", snapshot, "--json"], in: directory)
        #expect(hessian.status == 0, "\(hessian.stderr)")
        guard case .object(let report) = try JSONDecoder().decode(JSONValue.self, from: Data(hessian.stdout.utf8)),
              case .array(let indices)? = report["batch_indices"] else {
            Issue.record("no batch_indices in \(hessian.stdout.prefix(300))")
            return
        }
        #expect(indices.count == 8 && indices.allSatisfy { ($0.doubleValue ?? -1) >= 32 }, "a batch of 8 from the validation half: \(indices)")
    }
}
