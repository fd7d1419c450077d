import ArgumentParser
import DartsReport
import Foundation

/// One run's figures and summary, for a paper or a chat.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a run's regret, λmax, parameter-free edges and accuracies against epoch as SVG, with its summary.",
        discussion: """
            RUN is a run folder (runs/NAME, holding metrics.jsonl) or a metrics file. Writes results.md and \
            one SVG per recorded metric (regret.svg, lambda_max.svg, parameter_free.svg, valid_accuracy.svg, \
            discrete_accuracy.svg) into --output (default: the run folder's report/).
            """)

    @Argument(help: "A run folder (runs/NAME) or its metrics file (JSON Lines).")
    var runPath: String

    @Option(help: "Folder for results.md and the SVG files.")
    var output: String?

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runPath, isDirectory: &isDirectory) else {
            throw ValidationError("no run folder or metrics file at \(runPath)")
        }
        let metrics = isDirectory.boolValue ? (runPath as NSString).appendingPathComponent("metrics.jsonl") : runPath
        let folder = isDirectory.boolValue ? runPath : (runPath as NSString).deletingLastPathComponent
        let record: RunRecord
        do { record = try RunRecord(metricsFile: metrics) } catch { throw ValidationError("\(error)") }
        guard !record.epochs.isEmpty else { throw ValidationError("\(metrics) holds no finished epoch yet: nothing to plot") }
        let name = isDirectory.boolValue ? (runPath as NSString).lastPathComponent
            : ((runPath as NSString).lastPathComponent as NSString).deletingPathExtension
        let report = ExperimentReport(title: name, runs: [.init(variant: name, seed: record.seed ?? 0, record: record)])
        let destination = output ?? (folder as NSString).appendingPathComponent("report")
        do { try report.write(to: destination) } catch { throw ValidationError("cannot write \(destination): \(error)") }
        let summary = RunSummary(record)
        log("dartscope: wrote \(destination)/results.md and \(report.figures.count) figures")
        if summary.collapse.happened {
            log("dartscope: collapsed at epoch \(summary.collapse.epoch.map { String($0 + 1) } ?? "?") (\(Int(summary.collapse.wallTime ?? 0)) s)")
        }
    }
}
