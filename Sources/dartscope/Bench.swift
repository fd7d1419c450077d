import ArgumentParser
import DartsEngine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the phases of a search step (and, with --kernels, the numerical kernels): medians over repetitions.",
        discussion: """
            Networks: \(BenchmarkNetwork.all.map(\.name).joined(separator: ", ")). \
            Phases: \(SearchPhase.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")). \
            Benchmarks/compare.sh runs this side by side with the PyTorch harness.
            """)

    @Option(name: .customLong("network"), help: "A benchmark network (repeatable; default: all).")
    var networks: [String] = []

    @Option(name: .customLong("phase"), help: "A phase to time (repeatable; default: all).")
    var phases: [String] = []

    @Flag(help: "Time the numerical kernels (sgemm, each convolution kind) instead.")
    var kernels = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("Write each network's model (as a snapshot does) with one batch, its loss and gradients to this folder for Benchmarks/check_equivalence.py, and exit.", valueName: "folder"))
    var writeCheck: String?

    @Option(help: "Timed repetitions per measurement (after a warm-up).")
    var repetitions = 10

    @Option(help: "Warm-up runs before timing.")
    var warmup = 2

    @Option(help: "Threads (OpenBLAS and the engine's own loops).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0, got \(warmup)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        for name in networks where BenchmarkNetwork.named(name) == nil {
            throw ValidationError("unknown benchmark network '\(name)'; known: \(BenchmarkNetwork.all.map(\.name).joined(separator: ", "))")
        }
        for name in phases where SearchPhase(rawValue: name) == nil {
            throw ValidationError("unknown phase '\(name)'; known: \(SearchPhase.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        setThreadCount(threads)
        if kernels { return try report(KernelBenchmark.run(repetitions: repetitions)) }
        let selected = networks.isEmpty ? BenchmarkNetwork.all : networks.compactMap(BenchmarkNetwork.named)
        if let writeCheck {
            for network in selected { try SearchStepBenchmark.writeEquivalenceCheck(network, to: writeCheck) }
            return
        }
        let selectedPhases = phases.isEmpty ? SearchPhase.allCases : phases.compactMap(SearchPhase.init(rawValue:))
        var results: [SearchStepBenchmark.NetworkResult] = []
        for network in selected {
            let result = try SearchStepBenchmark.run(network, phases: selectedPhases, repetitions: repetitions, warmup: warmup,
                                                     threads: threads) { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }
            if !json { printTable(result) }
            results.append(result)
        }
        if json { print(try encoded(results)) }
    }

    func encoded<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func report(_ results: [KernelBenchmark.Result]) throws {
        if json { return print(try encoded(results)) }
        print("kernel".padding(toLength: 44, withPad: " ", startingAt: 0) + "  median ms   ±ms   GFLOP/s")
        for result in results {
            let name = result.name.padding(toLength: 44, withPad: " ", startingAt: 0)
            print(name + String(format: "  %9.3f %6.3f %8.2f", result.timing.median * 1e3, result.timing.spread * 1e3, result.gigaflopsPerSecond))
        }
    }

    func printTable(_ result: SearchStepBenchmark.NetworkResult) {
        print("\(result.network): \(result.parameters) weights, \(String(format: "%.1f", result.forwardFlopsPerSample / 1e6)) MFLOP forward per sample, "
              + "\(result.threads) thread(s) (helpers ran \(Int((result.helperChunkShare * 100).rounded()))% of parallel chunks), peak RSS \(String(format: "%.0f", result.peakResidentMegabytes)) MB")
        let kinds = OpKind.allCases.map(\.rawValue) + ["other"]
        print("  " + "phase".padding(toLength: 22, withPad: " ", startingAt: 0) + "  median ms    ±ms  GFLOP/s  HVPs  time by op kind")
        for phase in result.phases {
            let shares = kinds.compactMap { kind in
                phase.breakdown[kind].flatMap { $0 >= 0.01 ? "\(kind) \(Int(($0 * 100).rounded()))%" : nil }
            }
            print("  " + phase.phase.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)
                  + String(format: "  %9.1f %6.1f %8.2f %5@  ", phase.timing.median * 1e3, phase.timing.spread * 1e3, phase.gigaflopsPerSecond,
                           phase.hessianVectorProducts.map(String.init) ?? "")
                  + shares.joined(separator: ", "))
        }
    }
}
