import ArgumentParser
import DartsEngine
import DartsReport
import Foundation

/// Runs an experiment file's grid of variants × seeds headless, one process
/// per run, and summarises it as a table and figures (docs/remedies.md, "Experiments").
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run a grid of search variants × seeds headless and write its table (mean ± std) and SVG figures.",
        discussion: """
            Each run is its own `dartscope run --headless` process (a fork variant: `dartscope resume` of its \
            parent's snapshot at the fork step), N at a time. Run files go to OUTPUT/runs/VARIANT-sSEED.* and \
            a finished run (one that ended by itself, diverged or failed) is never run again, so an \
            interrupted experiment continues where it stopped. OUTPUT/results.md and OUTPUT/*.svg are \
            rewritten at the end, or alone with --report-only.
            """)

    @Argument(help: "The experiment file (TOML: an [experiment] table and [[variant]] tables).")
    var file: String

    @Option(help: "Folder for the runs, results.md and figures (default: the experiment file's folder).")
    var output: String?

    @Option(help: "Runs at a time (default: the file's experiment.jobs, else cores ÷ threads per run).")
    var jobs: Int?

    @Option(name: .customLong("variant"),
            help: "Run only this variant (repeatable; a fork's parent runs too). The report still covers every variant.")
    var variants: [String] = []

    @Flag(help: "Run nothing: write results.md and the figures from the runs finished so far.")
    var reportOnly = false

    func validate() throws {
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be in 1…64, got \(jobs)") }
    }

    func run() throws {
        let plan: ExperimentPlan
        do { plan = try ExperimentPlan.load(path: file) } catch { throw ValidationError(error.description) }
        let known = Set(plan.variants.map(\.name))
        if let unknown = variants.first(where: { !known.contains($0) }) {
            throw ValidationError("--variant \(unknown): \(file) has no such variant (it has \(plan.variants.map(\.name).joined(separator: ", ")))")
        }
        let folder = output ?? URL(fileURLWithPath: file).deletingLastPathComponent().path
        let layout = ExperimentLayout(plan: plan, folder: folder)
        do {
            try FileManager.default.createDirectory(atPath: layout.runsFolder, withIntermediateDirectories: true)
        } catch { throw ValidationError("cannot create \(layout.runsFolder): \(error)") }
        if !reportOnly {
            let parallel = jobs ?? plan.jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount / plan.threads)
            try ExperimentScheduler(layout: layout, parallel: parallel, only: variants.isEmpty ? nil : Set(variants)).run()
        }
        let report = layout.report()
        do { try report.write(to: folder) } catch { throw ValidationError("cannot write the results into \(folder): \(error)") }
        log("dartscope: wrote \(folder)/results.md and \(report.figures.count) figures (\(report.runs.filter { $0.record != nil }.count) of \(plan.runs.count) runs)")
    }
}

/// Where an experiment's files live: OUTPUT/runs/VARIANT-sSEED.{jsonl,log,result.json,record.json}
/// (the last two are the results to commit),
/// and each run's snapshots under runs/EXPERIMENT-VARIANT-sSEED/ (the working directory's).
struct ExperimentLayout {
    let plan: ExperimentPlan
    let folder: String
    var runsFolder: String { (folder as NSString).appendingPathComponent("runs") }

    func metrics(_ run: ExperimentPlan.Run) -> String { "\(runsFolder)/\(run.label).jsonl" }
    /// The run's epoch series, small enough to commit with the results.
    func record(_ run: ExperimentPlan.Run) -> String { "\(runsFolder)/\(run.label).record.json" }
    func log(_ run: ExperimentPlan.Run) -> String { "\(runsFolder)/\(run.label).log" }
    func result(_ run: ExperimentPlan.Run) -> String { "\(runsFolder)/\(run.label).result.json" }
    func runName(_ run: ExperimentPlan.Run) -> String { "\(plan.name)-\(run.label)" }
    func snapshot(_ run: ExperimentPlan.Run, step: Int) -> String { "runs/\(runName(run))/snapshots/steps-\(step)" }

    /// Every run of the plan as the report sees it: finished runs with their
    /// records (failed ones with their failure), unfinished ones without.
    func report() -> ExperimentReport {
        ExperimentReport(title: plan.name, runs: plan.runs.map { run in
            let outcome = RunOutcome.read(result(run))
            let saved = (try? RunRecord(recordFile: record(run))) ?? (try? RunRecord(metricsFile: metrics(run)))
            return .init(variant: run.variant.name, seed: run.seed, record: outcome == nil ? nil : saved,
                         failure: outcome?.failure ?? (outcome != nil && saved == nil ? "no readable metrics file" : nil))
        })
    }
}

/// What a finished run left: its exit status and, if it failed, why.
struct RunOutcome: Codable, Equatable {
    var exitStatus: Int32
    var failure: String?
    var seconds: Double

    /// Nil when there is no outcome (the run has not finished) or it cannot be read.
    static func read(_ path: String) -> RunOutcome? {
        guard let data = FileManager.default.contents(atPath: path), data.count < 1 << 20 else { return nil }
        return try? JSONDecoder().decode(RunOutcome.self, from: data)
    }

    func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
