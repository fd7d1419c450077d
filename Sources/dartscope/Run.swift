import ArgumentParser
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

    func run() throws {
        let options = try RunOptions(config: config, overrides: overrides, data: data)
        let useDashboard = !headless && isatty(STDOUT_FILENO) == 1
        if useDashboard {
            FileHandle.standardError.write(Data("dartscope: the dashboard is not built yet; running headless.\n".utf8))
        }
        try HeadlessRun(options: options, metricsPath: metrics).run()
    }
}

/// A resolved, validated configuration plus its dataset.
struct RunOptions {
    var config: SearchConfig
    var configPath: String

    init(config name: String, overrides: [String], data: String?) throws {
        do {
            configPath = try SearchConfig.locate(name)
            var config = try SearchConfig.load(path: configPath)
            try config.apply(overrides: overrides)
            if let data { try config.set("data.dir", to: .text(data)) }
            try config.validateCombination()
            self.config = config
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }

    func loadDataset() throws -> Dataset {
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

    var runDirectory: String { "runs/\(config.runName)" }
}
