import ArgumentParser
import DartsEngine
import Foundation

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a run from a snapshot, or fork it under a new name.",
        discussion: "Only live parameters can be changed with --set; structural ones (space, network size, data) are fixed by the snapshot.")

    @Argument(help: "Snapshot folder (runs/NAME/snapshots/SNAP).")
    var snapshot: String

    @Option(name: .customLong("set"), help: "Change a live parameter: --set key=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Continue under a new run name (a fork); the original run's files stay as they are.")
    var name: String?

    @Option(help: "Dataset folder, if it moved since the snapshot was taken.")
    var data: String?

    @Flag(help: "Run without the dashboard.")
    var headless = false

    @Option(help: "Metrics file (JSON Lines); default runs/NAME/metrics.jsonl (appended).")
    var metrics: String?

    @Option(help: "Run this many steps from the snapshot, then write snapshot steps-STEP and stop (the dashboard pauses instead).")
    var steps: Int?

    @Flag(help: .hidden)
    var stopWithParent = false

    /// Structural parameters `--set` may still change on resume: the name (a
    /// fork) and the thread count, which changes no number (the kernels are
    /// bit-identical at any count). They go into the config, not through
    /// the engine's live `set`.
    static let structuralButResumable: Set<String> = ["run.name", "search.threads"]

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        let loaded: LoadedSnapshot
        do { loaded = try LoadedSnapshot(path: snapshot) } catch { throw ValidationError("\(error)") }
        var config = loaded.config
        do {
            var changed = config
            try changed.apply(overrides: overrides)
            for spec in SearchParameters.all where !spec.isLive && !Self.structuralButResumable.contains(spec.key) {
                if try changed.value(of: spec.key) != config.value(of: spec.key) {
                    throw ConfigError.notLive(spec.key)
                }
            }
            config = changed
            if let name { try config.set("run.name", to: .text(name)) }
            if let data { config.dataDirectory = data }
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        let engine = try makeEngine(config: config)
        do { try engine.restore(loaded) } catch { throw ValidationError("\(error)") }
        // Only a snapshot that restored touches the run folder; the live
        // overrides (already validated above) are then journaled in it.
        try attachRunFiles(to: engine, config: config, metrics: metrics, freshRun: name != nil)
        do {
            for override in overrides {
                let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2, !Self.structuralButResumable.contains(parts[0]) { try engine.apply(.set(key: parts[0], value: ConfigValue.parse(parts[1]))) }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        log("dartscope: resumed \(loaded.path) at step \(engine.step) (epoch \(engine.epoch))")
        engine.emitRunDescription()  // marks the resume in the metrics file
        try runSearch(engine: engine, headless: headless, theme: "dark", replay: nil, stepLimit: steps, stopsWithParent: stopWithParent)
    }
}

struct GenotypeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genotype", abstract: "Print the genotype a snapshot's α derives, in DARTS syntax.",
        discussion: "With per-layer α (network.alphas = per_layer) the first line is the genotype of each cell type's mean softmax, followed by every cell's own kept edges.")

    @Argument(help: "Snapshot folder.")
    var snapshot: String

    func run() throws {
        let loaded: SnapshotArchitecture
        do { loaded = try SnapshotArchitecture(path: snapshot) } catch { throw ValidationError("\(error)") }
        print(loaded.genotype)
        for (cell, edges) in (loaded.layerGenotypes ?? []).enumerated() {
            print("cell \(cell) (\(loaded.cellTypeName(ofCell: cell))): \(Genotype.cellDescription(edges))")
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a snapshot's architecture: Graphviz DOT of both cells, or JSON (genotype, softmax(α), step).")

    @Argument(help: "Snapshot folder.")
    var snapshot: String

    @Option(help: "dot or json.")
    var format = "dot"

    func run() throws {
        guard format == "dot" || format == "json" else { throw ValidationError("unknown format '\(format)': expected dot or json") }
        let loaded: SnapshotArchitecture
        do { loaded = try SnapshotArchitecture(path: snapshot) } catch { throw ValidationError("\(error)") }
        let genotype = loaded.genotype
        let mixing = loaded.mixing
        if format == "dot" {
            print(genotype.dot)
        } else {
            let object: JSONValue = .object([
                "genotype": .string(genotype.description),
                "step": .integer(loaded.step), "epoch": .integer(loaded.epoch),
                "normal_skip_count": .integer(genotype.normalSkipCount),
                "softmax": .array(mixing.map { .matrix($0) }),
            ].merging(layerFields(loaded)) { a, _ in a })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
        }
    }

    /// Per-layer α: every cell's softmax and own kept edges.
    func layerFields(_ loaded: SnapshotArchitecture) -> [String: JSONValue] {
        guard let layerMixing = loaded.layerMixing, let layers = loaded.layerGenotypes else { return [:] }
        return ["layer_softmax": .array(layerMixing.map { .matrix($0) }),
                "layer_genotypes": .array(layers.map { .string(Genotype.cellDescription($0)) }),
                "layer_types": .array(layers.indices.map { .string(loaded.cellTypeName(ofCell: $0)) })]
    }
}
