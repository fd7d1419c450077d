/// The table of every configurable parameter: the single place that says
/// which keys exist, what they accept, and which may change mid-run. The
/// engine's own parameters are listed here; each remedy declares its own
/// (``Remedy/parameters``), and the two are merged section by section.
public enum SearchParameters {
    public static let all: [ParameterSpec] = merged(core, Remedies.parameters)

    /// Sections in the order config files, the reference and the dashboard
    /// list them; a remedy's own section goes before `metrics`.
    static let sectionOrder = ["run", "data", "network", "search", "optim", "reg", "lambda", "hessian", "es", "metrics", "snapshot", "tabular"]

    static func merged(_ core: [ParameterSpec], _ remedies: [ParameterSpec]) -> [ParameterSpec] {
        func rank(_ spec: ParameterSpec) -> Int {
            let section = String(spec.key.prefix { $0 != "." })
            return sectionOrder.firstIndex(of: section) ?? sectionOrder.firstIndex(of: "metrics")! - 1
        }
        return (core + remedies).enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
    }

    static let core: [ParameterSpec] = [
        text("run.name", \.runName, "Name of the run; snapshots and metrics go to runs/NAME/.", kind: .folderName),

        choice("data.dataset", \.dataset, ["fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"],
               "Training set; its training split is divided into search-train and search-validation."),
        text("data.dir", \.dataDirectory, "Folder with the dataset files (empty: /usr/share/datasets/fashion-mnist for Fashion-MNIST)."),
        integer("data.subset", \.subset, 0...Int.max, "Use only the first N training images (0 = all)."),
        real("data.train_portion", \.trainPortion, 0.01...0.99, "Fraction of the images used for the weight step; the rest is the validation split."),
        flag("data.augment", \.randomCropAndFlip, "Random crop (pad 4) and horizontal flip on training batches."),
        integer("data.synthetic_size", \.syntheticImageSize, 4...64, "Image side of the synthetic dataset."),
        integer("data.synthetic_classes", \.syntheticClasses, 2...100, "Classes of the synthetic dataset."),

        choice("network.space", \.space, SearchSpace.all.map(\.name), "Search space: darts (S5), s1–s4 (R-DARTS), or tiny and tiny-s3 (81 architectures each, tabulated)."),
        integer("network.init_channels", \.initialChannels, 1...512, "C: channels of the first cells (doubled at each reduction)."),
        integer("network.layers", \.layers, 1...64, "L: cells; those at L/3 and 2L/3 are reduction cells."),
        choice("network.alphas", \.alphaLayout, "shared: one α per cell type (DARTS); per_layer: every cell its own α (the headline genotype and regret come from each type's mean softmax)."),

        integer("search.epochs", \.epochs, 1...10_000, "Epochs (passes over the search-train split)."),
        integer("search.batch_size", \.batchSize, 2...4096, "Batch size of both steps (at least 2: batch norm needs two values per channel)."),
        integer("search.seed", \.seed, 0...Int.max, "Seed of the run's random number generator."),
        integer("search.threads", \.threads, 1...256, "Threads for the numerical kernels."),
        choice("search.order", \.order, "first: first-order DARTS; second: unrolled (implicit-gradient) DARTS."),

        real("optim.lr", \.learningRate, 1e-8...10, "Initial weight learning rate (cosine schedule).", live: true),
        real("optim.lr_min", \.learningRateMin, 0...10, "Final weight learning rate of the cosine schedule.", live: true),
        real("optim.momentum", \.momentum, 0...0.999, "SGD momentum.", live: true),
        real("optim.weight_decay", \.weightDecay, 0...1, "Weight L2 added to the gradient (R-DARTS varies it; DARTS-ADA raises it).", live: true),
        real("optim.grad_clip", \.gradientClip, 1e-6...1e6, "Global-norm clip of the weight gradient.", live: true),
        real("optim.arch_lr", \.archLearningRate, 0...1, "Adam learning rate of α.", live: true),
        real("optim.arch_weight_decay", \.archWeightDecay, 0...1, "L2 on α added to its gradient.", live: true),
        real("optim.arch_beta1", \.archBeta1, 0...0.999, "Adam β1 for α."),
        real("optim.arch_beta2", \.archBeta2, 0...0.99999, "Adam β2 for α."),



        integer("hessian.every", \.hessianEvery, 0...Int.max, "Also compute the dominant Hessian eigenvalue every N steps (0: epoch ends only).", live: true),
        real("hessian.tolerance", \.hessianTolerance, 1e-8...0.5, "Lanczos stops when the top Ritz value changes less than this, relatively.", live: true),
        integer("hessian.max_iterations", \.hessianMaxIterations, 1...500, "At most this many Hessian-vector products per eigenvalue.", live: true),
        real("hessian.step", \.hessianStep, 1e-6...1, "Finite-difference step of the (pattern-replayed, exact up to O(h²)) Hessian-vector products.", live: true),


        integer("metrics.alpha_every", \.alphaEvery, 1...Int.max, "Write softmax(α) to the metrics file every N steps."),
        integer("metrics.alignment_every", \.alignmentEvery, 1...Int.max, "Write the layer-gradient alignment (cosine matrices, per-layer α-gradients) to the metrics file every N steps; the dashboard sees every step."),
        flag("metrics.discretisation_gap", \.discretisationGap, "At each epoch end also evaluate the supernet with the derived genotype's one-hot mixing weights (the discretisation gap), after re-estimating its batch norm statistics.", live: true),
        integer("metrics.gap_recalibration_batches", \.gapRecalibrationBatches, 1...1000, "Training batches (unaugmented, no weight update) the discrete network's batch norm statistics are re-estimated on before its evaluation.", live: true),
        integer("snapshot.keep", \.snapshotKeep, 0...1000, "Epoch-end snapshots kept (0 = none)."),
        text("tabular.table", \.tabularTable, "Ground-truth table for regret in a tabulated space (empty: Configs/tabular/SPACE-DATASET.json when it exists; `none`: off)."),
    ]

    public static let descriptors = all.map(\.descriptor)

    public static func spec(_ key: String) throws(ConfigError) -> ParameterSpec {
        if let spec = all.first(where: { $0.key == key }) { return spec }
        throw ConfigError.unknownKey(key, suggestion: descriptors.suggestion(for: key))
    }

    /// A change to `key` while a search runs: the parameter's entry and the
    /// validated value, or why it is refused (unknown key, structural
    /// parameter, value out of range). The dashboard asks before sending a
    /// `:set`, the engine again before applying it (and then checks
    /// combinations with the rest of the config).
    public static func liveChange(_ key: String, to value: ConfigValue) throws(ConfigError) -> (spec: ParameterSpec, value: ConfigValue) {
        let validated = try descriptors.liveChange(key, to: value)
        return (try spec(key), validated)
    }

    // MARK: Builders

    private static func integer(_ key: String, _ path: WritableKeyPath<SearchConfig, Int> & Sendable, _ range: ClosedRange<Int>, _ doc: String, live: Bool = false) -> ParameterSpec {
        ParameterSpec(key: key, kind: .integer(range), isLive: live, documentation: doc,
                      read: { .integer($0[keyPath: path]) },
                      write: { config, value in if case .integer(let v) = value { config[keyPath: path] = v } })
    }

    private static func real(_ key: String, _ path: WritableKeyPath<SearchConfig, Double> & Sendable, _ range: ClosedRange<Double>, _ doc: String, live: Bool = false) -> ParameterSpec {
        ParameterSpec(key: key, kind: .real(range), isLive: live, documentation: doc,
                      read: { .real($0[keyPath: path]) },
                      write: { config, value in if case .real(let v) = value { config[keyPath: path] = v } })
    }

    private static func flag(_ key: String, _ path: WritableKeyPath<SearchConfig, Bool> & Sendable, _ doc: String, live: Bool = false) -> ParameterSpec {
        ParameterSpec(key: key, kind: .flag, isLive: live, documentation: doc,
                      read: { .flag($0[keyPath: path]) },
                      write: { config, value in if case .flag(let v) = value { config[keyPath: path] = v } })
    }

    private static func choice(_ key: String, _ path: WritableKeyPath<SearchConfig, String> & Sendable, _ options: [String], _ doc: String, live: Bool = false) -> ParameterSpec {
        ParameterSpec(key: key, kind: .choice(options), isLive: live, documentation: doc,
                      read: { .text($0[keyPath: path]) },
                      write: { config, value in if case .text(let v) = value { config[keyPath: path] = v } })
    }

    /// A choice among an enum's cases, stored as the enum: parsed once, here.
    private static func choice<Option: RawRepresentable<String> & CaseIterable & Sendable>(
        _ key: String, _ path: WritableKeyPath<SearchConfig, Option> & Sendable, _ doc: String, live: Bool = false
    ) -> ParameterSpec {
        ParameterSpec(key: key, kind: .choice(Option.allCases.map(\.rawValue)), isLive: live, documentation: doc,
                      read: { .text($0[keyPath: path].rawValue) },
                      write: { config, value in
                          if case .text(let v) = value, let option = Option(rawValue: v) { config[keyPath: path] = option }
                      })
    }

    private static func text(_ key: String, _ path: WritableKeyPath<SearchConfig, String> & Sendable, _ doc: String,
                             kind: ParameterDescriptor.Kind = .text) -> ParameterSpec {
        ParameterSpec(key: key, kind: kind, isLive: false, documentation: doc,
                      read: { .text($0[keyPath: path]) },
                      write: { config, value in if case .text(let v) = value { config[keyPath: path] = v } })
    }
}

extension SearchConfig {
    /// The current value of `key`.
    public func value(of key: String) throws(ConfigError) -> ConfigValue {
        try SearchParameters.spec(key).read(self)
    }

    /// Validates and sets one parameter; on error nothing changes.
    public mutating func set(_ key: String, to value: ConfigValue) throws(ConfigError) {
        let spec = try SearchParameters.spec(key)
        spec.write(&self, try spec.validate(value))
    }

    /// Applies `key=value` overrides (the `--set` syntax).
    public mutating func apply(overrides: [String]) throws(ConfigError) {
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else { throw ConfigError.malformedOverride(override) }
            let key = override[..<equals].trimmingCharacters(in: .whitespaces)
            let value = String(override[override.index(after: equals)...])
            try set(key, to: ConfigValue.parse(value))
        }
    }

    /// Checks constraints between parameters that no single range expresses.
    public func validateCombination() throws(ConfigError) {
        if learningRateMin > learningRate {
            throw ConfigError.invalidValue(key: "optim.lr_min", value: formatReal(learningRateMin), allowed: "a number ≤ optim.lr (\(formatReal(learningRate)))")
        }
    }
}

import Foundation
