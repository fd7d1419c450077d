import ArgumentParser
import DartsEngine
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the numerical kernels (medians over repetitions).")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Timed repetitions per measurement (after a warm-up).")
    var repetitions = 10

    @Option(help: "Threads OpenBLAS may use.")
    var threads = 1

    func run() throws {
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
        setBLASThreadCount(threads)
        let results = KernelBenchmark.run(repetitions: repetitions)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
            return
        }
        print("kernel".padding(toLength: 44, withPad: " ", startingAt: 0) + "  median ms   ±ms   GFLOP/s")
        for result in results {
            let name = result.name.padding(toLength: 44, withPad: " ", startingAt: 0)
            print(name + String(format: "  %9.3f %6.3f %8.2f", result.timing.median * 1e3, result.timing.spread * 1e3, result.gigaflopsPerSecond))
        }
    }
}
