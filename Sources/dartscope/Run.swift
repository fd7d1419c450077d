import ArgumentParser
import Dashboard
import DartsEngine
import Foundation

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a search (the default command).",
        discussion: "Without --headless and with a terminal on stdout this opens the dashboard; otherwise it prints a progress line to stderr and writes metrics as JSON Lines.")

    @Option(name: .long, help: "A config name from Configs/ (e.g. default, darts-cifar10, s3) or a TOML file.")
    var config = "default"

    @Option(name: .customLong("set"), help: "Override a parameter: --set key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Dataset folder (same as --set data.dir=DIR).")
    var data: String?

    @Flag(help: "Run without the dashboard.")
    var headless = false

    @Option(help: "Metrics file (JSON Lines); default runs/NAME/metrics.jsonl.")
    var metrics: String?

    @Option(help: "Dashboard colour theme (a name from Themes/ or a file).")
    var theme = "dark"

    @Option(help: "Run this many steps, then write snapshot steps-STEP and stop (the dashboard pauses instead).")
    var steps: Int?

    @Option(help: "Replay the commands of a journal (runs/NAME/journal.jsonl or a snapshot's manifest.json) at the steps they were applied.")
    var journal: String?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        var config = try loadConfig(name: self.config, overrides: overrides, data: data)
        var replay: JournalReplay?
        if let journal {
            do { replay = JournalReplay(try JournalReplay.load(path: journal, warn: log)) } catch { throw ValidationError("\(error)") }
            if !overrides.contains(where: { $0.hasPrefix("run.name=") }) { config.runName += "-replay" }
        }
        let engine = try makeEngine(config: config)
        try attachRunFiles(to: engine, config: config, metrics: metrics, freshRun: true)
        engine.emitRunDescription()
        try runSearch(engine: engine, headless: headless, theme: theme, replay: replay, stepLimit: steps)
    }
}

/// Resolves `--config NAME|FILE`, applies overrides, and reports problems as
/// validation errors (exit code 64 with the message).
func loadConfig(name: String, overrides: [String], data: String?) throws -> SearchConfig {
    do {
        var config = try SearchConfig.load(path: try SearchConfig.locate(name))
        try config.apply(overrides: overrides)
        if let data { try config.set("data.dir", to: .text(data)) }
        try config.validateCombination()
        return config
    } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}

/// Loads the dataset a config names.
func loadDataset(for config: SearchConfig) throws -> Dataset {
    if config.dataset == "synthetic" {
        return Dataset.synthetic(count: config.subset > 0 ? config.subset : 512, classes: config.syntheticClasses,
                                 size: config.syntheticImageSize, seed: UInt64(config.seed))
    }
    do {
        return try DatasetLoader.loadTrainingSet(config.dataset, directory: config.dataDirectory.isEmpty ? nil : config.dataDirectory)
            .prefix(config.subset > 0 ? config.subset : nil)
    } catch let error as DatasetError {
        throw ValidationError(error.description)
    }
}

/// Builds the engine for a config; nothing is written until
/// ``attachRunFiles(to:config:metrics:freshRun:)``, so a resume can refuse a
/// snapshot before it touches the run folder.
func makeEngine(config: SearchConfig) throws -> SearchEngine {
    let dataset = try loadDataset(for: config)
    do { return try SearchEngine(config: config, dataset: dataset) } catch let error as ConfigError {
        throw ValidationError(error.description)
    }
}

/// Attaches the run folder's files to the engine —
/// runs/NAME/{metrics.jsonl, journal.jsonl, snapshots/} — after removing
/// what a killed process left, and announces the run.
func attachRunFiles(to engine: SearchEngine, config: SearchConfig, metrics: String?, freshRun: Bool) throws {
    let directory = "runs/\(config.runName)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    engine.snapshotDirectory = directory + "/snapshots"
    let abandoned = DurableFiles.removeAbandonedPartials(in: directory + "/snapshots")
    if !abandoned.isEmpty { log("dartscope: removed \(abandoned.count) snapshot write(s) a killed process left unfinished (\(abandoned.joined(separator: ", ")))") }
    engine.journalPath = directory + "/journal.jsonl"
    if freshRun { try? FileManager.default.removeItem(atPath: directory + "/journal.jsonl") }
    let path = metrics ?? directory + "/metrics.jsonl"
    let writer = try JSONLinesWriter(path: path, append: !freshRun)
    if writer.droppedTornBytes > 0 { log("dartscope: \(path): dropped its torn last line (\(writer.droppedTornBytes) bytes a killed process left)") }
    writer.include = JSONLinesWriter.decimating([AlignmentMetrics.type], every: config.alignmentEvery)
    engine.addSink(writer)
    let dataset = engine.dataset
    log("dartscope: \(config.runName): \(config.space) on \(dataset.name) (\(dataset.count) images, \(engine.stepsPerEpoch) steps/epoch, \(config.epochs) epochs), C=\(config.initialChannels), \(config.layers) cells, \(engine.supernet.parameters.weightCount) weights; OpenBLAS \(blasCoreName); run folder \(directory)")
}

/// Runs the search under the dashboard, or headless when asked to or when
/// stdout is not a terminal (the ordinary pipe or CI case, silently) or the
/// terminal cannot show it (no key input, `TERM=dumb`: said on stderr).
func runSearch(engine: SearchEngine, headless: Bool, theme themeName: String, replay: JournalReplay?, stepLimit: Int?,
               stopsWithParent: Bool = false) throws {
    if !headless && isatty(STDOUT_FILENO) == 1 {
        let theme = try dashboardTheme(themeName)
        do { return try runDashboard(engine: engine, terminal: try Terminal(theme: theme), replay: replay, stepLimit: stepLimit) }
        catch let unavailable as TerminalUnavailable { log("dartscope: no dashboard: \(unavailable.reason); running headless") }
    }
    try HeadlessRun(engine: engine, replay: replay, stepLimit: stepLimit, stopsWithParent: stopsWithParent).run()
}

/// The theme `--theme` names; an unknown one is a usage error.
/// A binary run outside the repository (copied or installed without the
/// shipped `Themes/` folder) still gets colours: with no such folder at all,
/// a theme named by name falls back to the built-in one, with a warning. A
/// theme that is not among the shipped ones, or a damaged file, stays an error.
func dashboardTheme(_ name: String) throws -> Theme {
    if !name.contains("/"), Theme.directory() == nil {
        log("dartscope: no Themes/ folder beside the working directory or the executable; using the built-in theme instead of \(name)")
        return Theme.fallback
    }
    do { return try Theme.load(name) } catch { throw ValidationError("\(error)") }
}

/// Runs the engine on its own thread under the dashboard until the user quits.
private func runDashboard(engine: SearchEngine, terminal: Terminal, replay: JournalReplay?, stepLimit: Int?) throws {
    let runner = SearchRun(engine: engine, replay: replay, stepLimit: stepLimit)
    let counterfactual = ParentContinuation(store: runner.store)
    engine.addSink(counterfactual)
    SignalFlag.install()
    let app = DashboardApp(connection: runner, terminal: terminal)
    runner.start()
    app.run()
    counterfactual.stop()
    if let frames = app.frameTimes.summary {
        log(String(format: "dartscope: dashboard drew %d frames, redraw median %.2f ms, 95th percentile %.2f ms; UI thread %.2f s CPU in %.0f s (%.2f %% of a core)",
                   frames.samples.count, frames.median * 1e3, frames.percentile(0.95) * 1e3,
                   app.uiTime.cpu, app.uiTime.wall, 100 * app.uiTime.cpu / max(app.uiTime.wall, 1e-9)))
    }
    let genotype = engine.supernet.genotype()
    print(genotype.description)
}
