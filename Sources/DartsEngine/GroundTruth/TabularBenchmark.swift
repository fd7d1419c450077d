import Foundation

/// One architecture of a small space trained and evaluated as a discrete
/// network (DESIGN §6).
public struct TabularEntry: Codable, Sendable, Equatable {
    /// The chosen operation of every edge, in edge order, joined by ",".
    public var architecture: String
    /// One training run's accuracy, or in a table the mean over its seeds.
    public var validAccuracy: Double
    public var validLoss: Double
    /// Weights of the discrete network (the chosen operations only).
    public var parameters: Int
    public var trainSeconds: Double
    /// The seed of one training run (absent in tables made before seeds were recorded).
    public var seed: Int?
    /// In a table: each seed's accuracy (in the table's seed order) and their standard deviation.
    public var seedAccuracies: [Double]?
    public var validAccuracyStd: Double?

    public init(architecture: String, validAccuracy: Double, validLoss: Double, parameters: Int, trainSeconds: Double, seed: Int? = nil) {
        self.architecture = architecture
        self.validAccuracy = validAccuracy
        self.validLoss = validLoss
        self.parameters = parameters
        self.trainSeconds = trainSeconds
        self.seed = seed
    }

    /// The entry of a table: runs of one architecture under several seeds,
    /// their mean accuracy and loss, the sample standard deviation of the accuracy.
    public init(combining runs: [TabularEntry]) {
        precondition(!runs.isEmpty, "TabularEntry: no runs to combine")
        let accuracies = runs.map(\.validAccuracy)
        let mean = accuracies.reduce(0, +) / Double(runs.count)
        self.init(architecture: runs[0].architecture, validAccuracy: mean,
                  validLoss: runs.map(\.validLoss).reduce(0, +) / Double(runs.count), parameters: runs[0].parameters,
                  trainSeconds: runs.map(\.trainSeconds).reduce(0, +))
        seedAccuracies = accuracies
        validAccuracyStd = runs.count > 1
            ? (accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(runs.count - 1)).squareRoot() : 0
    }

    enum CodingKeys: String, CodingKey {
        case architecture, parameters, seed
        case validAccuracy = "valid_acc", validLoss = "valid_loss", trainSeconds = "train_seconds"
        case seedAccuracies = "seed_accs", validAccuracyStd = "valid_acc_std"
    }
}

/// How alike two seeds rank a table's architectures.
public struct SeedAgreement: Codable, Sendable, Equatable {
    public var seeds: [Int]
    public var agreement: RankAgreement

    public init(seeds: [Int], agreement: RankAgreement) {
        self.seeds = seeds
        self.agreement = agreement
    }
}

/// The ground-truth table of a space: every architecture's accuracy under one
/// fixed training budget, with the command that produced it.
public struct TabularTable: Codable, Sendable {
    public var space: String
    public var dataset: String
    public var command: String
    /// The resolved configuration (the budget) as key → value.
    public var budget: [String: String]
    public var entries: [TabularEntry]
    /// The seeds every architecture was trained with (absent: one, the budget's).
    public var seeds: [Int]?
    /// Rank agreement between every pair of seeds: whether the table is a ground truth.
    public var seedAgreement: [SeedAgreement]?

    public init(space: String, dataset: String, command: String, budget: [String: String], entries: [TabularEntry],
                seeds: [Int]? = nil, seedAgreement: [SeedAgreement]? = nil) {
        self.space = space
        self.dataset = dataset
        self.command = command
        self.budget = budget
        self.entries = entries
        self.seeds = seeds
        self.seedAgreement = seedAgreement
    }

    /// A table from runs of every architecture under each of `seeds`, in
    /// `architectures` order, with the agreement of every pair of seeds.
    public static func combining(_ runs: [TabularEntry], architectures: [String], seeds: [Int], space: String, dataset: String,
                                 command: String, budget: [String: String]) -> TabularTable {
        let byArchitecture = Dictionary(grouping: runs, by: \.architecture)
        let entries = architectures.map { name in
            TabularEntry(combining: seeds.compactMap { seed in byArchitecture[name]?.first { ($0.seed ?? seeds[0]) == seed } })
        }
        var pairs: [SeedAgreement] = []
        for (i, a) in seeds.enumerated() {
            for b in seeds[(i + 1)...] {
                let j = seeds.firstIndex(of: b)!
                pairs.append(SeedAgreement(seeds: [a, b], agreement: RankAgreement(entries.map { $0.seedAccuracies![i] },
                                                                                    entries.map { $0.seedAccuracies![j] })))
            }
        }
        return TabularTable(space: space, dataset: dataset, command: command, budget: budget, entries: entries,
                            seeds: seeds, seedAgreement: pairs.isEmpty ? nil : pairs)
    }

    public var best: TabularEntry? { entries.max { $0.validAccuracy < $1.validAccuracy } }

    /// One line saying what the table is worth: its budget, its seeds and
    /// their rank agreement (or that it has a single seed, so none is known).
    public var summary: String {
        var parts = ["\(space) on \(dataset)"]
        if let epochs = budget["search.epochs"], let subset = budget["data.subset"] {
            parts.append("\(epochs) epochs on \(subset == "0" ? "all" : subset) images")
        }
        if let seeds, seeds.count > 1 {
            parts.append("seeds " + seeds.map(String.init).joined(separator: ","))
            if let taus = seedAgreement?.map(\.agreement.kendallTau), !taus.isEmpty {
                parts.append(String(format: "τ %.2f", taus.reduce(0, +) / Double(taus.count)))
            }
        } else {
            parts.append("one seed: agreement unknown")
        }
        return parts.joined(separator: " · ")
    }

    public func entry(for architecture: String) -> TabularEntry? { entries.first { $0.architecture == architecture } }

    /// `Configs/tabular/SPACE-DATASET.json`, where `dartscope tabulate` writes
    /// by default and searches look for their space's table: the shipped one
    /// when it exists, else in the working directory's `Configs/`.
    public static func defaultPath(space: String, dataset: String) -> String {
        let relative = "tabular/\(space)-\(dataset).json"
        return SearchConfig.shippedFile(relative) ?? SearchConfig.shippedFileCandidates(relative)[0]
    }

    public static func load(_ path: String) throws -> TabularTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unreadable(path: path, reason: "no such file")
        }
        do { return try JSONDecoder().decode(TabularTable.self, from: data) } catch {
            throw ConfigError.unreadable(path: path, reason: "not a tabular benchmark table: \(error)")
        }
    }

    public func csv() -> String {
        (["architecture,valid_acc,valid_loss,parameters,train_seconds,valid_acc_std"] + entries.map {
            "\"\($0.architecture)\",\($0.validAccuracy),\($0.validLoss),\($0.parameters),\($0.trainSeconds),\($0.validAccuracyStd.map { "\($0)" } ?? "")"
        }).joined(separator: "\n") + "\n"
    }
}

/// Trains every architecture of a small space as a discrete network: the
/// supernet's weights with one-hot mixing weights fixed to the architecture,
/// so exactly the chosen operations carry signal and receive gradients.
public enum TabularBenchmark {
    /// Spaces with more architectures than this are not tabulated.
    public static let maximumArchitectures = 1000

    /// Every choice of one operation per edge (the shared α of the space), or
    /// `sample` of them drawn without replacement by a fixed generator (the
    /// same pilot set every time), in enumeration order.
    public static func architectures(of space: SearchSpace, sample: Int? = nil) throws -> [[Int]] {
        let counts = space.normalOperations.map(\.count)
        let total = counts.reduce(1) { $0 * $1 }
        guard space.sharesAlphaAcrossCellTypes, total <= maximumArchitectures else {
            throw ConfigError.invalidValue(key: "network.space", value: space.name,
                                           allowed: "a space with one α for both cell types and at most \(maximumArchitectures) architectures (tiny, tiny-s3)")
        }
        var result: [[Int]] = [[]]
        for count in counts { result = result.flatMap { prefix in (0..<count).map { prefix + [$0] } } }
        guard let sample, sample < result.count else { return result }
        var generator = RandomGenerator(seed: 0x7ab)
        return Array(result.indices).shuffled(using: &generator).prefix(sample).sorted().map { result[$0] }
    }

    /// The architecture `name` spells (one operation per edge, comma
    /// separated, as `name(of:in:)` writes it), or nil if it is not one of
    /// the space's.
    public static func architecture(named name: String, in space: SearchSpace) -> [Int]? {
        let operations = name.split(separator: ",", omittingEmptySubsequences: false)
        guard operations.count == space.normalOperations.count else { return nil }
        var architecture: [Int] = []
        for (edge, operation) in operations.enumerated() {
            guard let index = space.normalOperations[edge].firstIndex(where: { $0.rawValue == operation }) else { return nil }
            architecture.append(index)
        }
        return architecture
    }

    public static func name(of architecture: [Int], in space: SearchSpace) -> String {
        architecture.enumerated().map { space.normalOperations[$0.offset][$0.element].rawValue }.joined(separator: ",")
    }

    /// The architecture a search currently derives in a tabulated space: the
    /// strongest operation of every edge.
    /// `weights` is edges × K: α or softmax(α), which have the same argmax.
    public static func argmax(of weights: [[Double]], in space: SearchSpace) -> [Int] {
        (0..<space.normalOperations.count).map { edge in
            let row = weights[edge].prefix(space.normalOperations[edge].count)
            return row.indices.max { row[$0] < row[$1] }!
        }
    }

    static func oneHot(_ architecture: [Int], in space: SearchSpace) -> [Tensor<Float>] {
        var matrix = Tensor<Float>(zeros: [architecture.count, space.operationsPerEdge])
        for (edge, operation) in architecture.enumerated() { matrix.scalars[edge * space.operationsPerEdge + operation] = 1 }
        return [matrix]
    }

    /// Trains `architecture` for `config.epochs` epochs of weight steps (the
    /// search's optimiser, schedule and seed) and evaluates it on the
    /// validation split. An architecture of a tabulated space is one choice
    /// for every cell, so the network is built with shared α whatever
    /// `network.alphas` says; a per-layer search is measured against the
    /// architecture its cells' mean weights derive.
    public static func train(_ architecture: [Int], config given: SearchConfig, dataset: Dataset) throws -> TabularEntry {
        let started = Date()
        var config = given
        config.alphaLayout = .shared
        let engine = try SearchEngine(config: config, dataset: dataset)
        let space = engine.supernet.space
        let mixing = oneHot(architecture, in: space)
        engine.fixedMixingWeights = mixing
        for epoch in 0..<config.epochs {
            engine.epoch = epoch  // the cosine schedule's position
            for _ in 0..<engine.stepsPerEpoch {
                let batch = engine.pipeline.batch(engine.state.trainSampler.nextBatch(size: config.batchSize), augment: true,
                                                  generator: &engine.generator)
                let step = engine.weightStep(train: batch, learningRate: engine.learningRate, plan: StepPlan())
                guard step.loss.isFinite else {
                    throw ConfigError.invalidValue(key: "optim.lr", value: formatReal(config.learningRate),
                                                   allowed: "a rate that keeps architecture \(name(of: architecture, in: space)) finite (loss \(step.loss) in epoch \(epoch + 1))")
                }
            }
        }
        let evaluation = engine.evaluate(indices: engine.validationIndices, fixedMixingWeights: mixing)
        return TabularEntry(architecture: name(of: architecture, in: space), validAccuracy: evaluation.accuracy,
                            validLoss: evaluation.loss, parameters: parameterCount(of: architecture, in: engine.supernet),
                            trainSeconds: Date().timeIntervalSince(started), seed: config.seed)
    }

    /// Weights outside the mixed edges plus those of each edge's chosen operation.
    static func parameterCount(of architecture: [Int], in supernet: Supernet<Float>) -> Int {
        let pattern = /cells\.\d+\._ops\.(\d+)\._ops\.(\d+)\./
        return supernet.parameters.weights.reduce(0) { total, entry in
            guard let match = entry.key.firstMatch(of: pattern), let edge = Int(match.1), let operation = Int(match.2) else {
                return total + entry.value.count
            }
            return total + (architecture[edge] == operation ? entry.value.count : 0)
        }
    }
}
