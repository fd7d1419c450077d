/// The metrics one producer (the engine, a PyTorch probe) reports, one
/// struct per event type. Field names are the JSON Lines names of
/// docs/telemetry.md; Swift names spell them out.

/// One search step: an architecture step on a validation batch and a weight
/// step on a training batch (DESIGN §3).
public struct StepMetrics: EventPayload {
    public static let type = "step"
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validLoss: Double
    public var validAccuracy: Double
    public var learningRate: Double
    /// Global norm of the weight gradient before clipping.
    public var gradientNorm: Double
    public var clipFactor: Double
    public var stepTime: Double

    public init(trainLoss: Double, trainAccuracy: Double, validLoss: Double, validAccuracy: Double, learningRate: Double,
                gradientNorm: Double, clipFactor: Double, stepTime: Double) {
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validLoss = validLoss
        self.validAccuracy = validAccuracy
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.clipFactor = clipFactor
        self.stepTime = stepTime
    }

    enum CodingKeys: String, CodingKey {
        case trainLoss = "train_loss", trainAccuracy = "train_acc", validLoss = "valid_loss", validAccuracy = "valid_acc"
        case learningRate = "lr", gradientNorm = "grad_norm", clipFactor = "clip_factor", stepTime = "step_time"
    }
}

/// An epoch end: the whole validation split evaluated, the derived genotype,
/// and where a tabulated space's ground truth puts it.
public struct EpochMetrics: EventPayload {
    public static let type = "epoch"
    /// Means over the epoch's weight steps.
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validLoss: Double
    public var validAccuracy: Double
    /// In the DARTS `Genotype(normal=[...], ...)` syntax.
    public var genotype: String
    public var skipCount: Int
    /// Normal-cell edges of the genotype with a parameter-free operation
    /// (skip, pooling, `none`); absent in files written before it was recorded.
    public var parameterFreeCount: Int?
    /// How many edges the normal cell of the genotype has (8 in DARTS spaces).
    public var normalEdgeCount: Int?
    public var learningRate: Double
    /// The derived genotype's one-hot network on the same weights.
    public var discreteValidAccuracy: Double?
    public var discreteValidLoss: Double?
    public var discretisationGap: Double?
    /// The tabulated architecture α derives, its table accuracy and the
    /// regret against the table's best (tabulated spaces only).
    public var architecture: String?
    public var tabularAccuracy: Double?
    public var regret: Double?

    public init(trainLoss: Double, trainAccuracy: Double, validLoss: Double, validAccuracy: Double, genotype: String,
                skipCount: Int, learningRate: Double) {
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validLoss = validLoss
        self.validAccuracy = validAccuracy
        self.genotype = genotype
        self.skipCount = skipCount
        self.learningRate = learningRate
    }

    enum CodingKeys: String, CodingKey {
        case trainLoss = "train_loss", trainAccuracy = "train_acc", validLoss = "valid_loss", validAccuracy = "valid_acc"
        case genotype, skipCount = "skip_count", learningRate = "lr"
        case parameterFreeCount = "parameter_free_count", normalEdgeCount = "normal_edges"
        case discreteValidAccuracy = "discrete_valid_acc", discreteValidLoss = "discrete_valid_loss", discretisationGap = "discretisation_gap"
        case architecture, tabularAccuracy = "tabular_acc", regret
    }
}

/// softmax(α) of every cell type, with the cells of the derived genotype
/// marked so a consumer never re-derives the DARTS rule; with per-layer α
/// (`network.alphas = per_layer`) also every cell's own.
public struct AlphaMetrics: EventPayload {
    public static let type = "alphas"

    public struct CellType: Sendable, Equatable {
        /// `normal` or `reduce`.
        public var name: String
        /// Edges × operations.
        public var softmax: [[Double]]
        /// `[edge, operation]` of every operation the derived genotype keeps.
        public var genotypeMarks: [[Int]]

        public init(name: String, softmax: [[Double]], genotypeMarks: [[Int]]) {
            self.name = name
            self.softmax = softmax
            self.genotypeMarks = genotypeMarks
        }
    }

    /// One cell's own α under per-layer α.
    public struct Layer: Sendable, Equatable {
        /// Edges × operations.
        public var softmax: [[Double]]
        /// `[edge, operation]` of every operation the cell's own genotype keeps.
        public var genotypeMarks: [[Int]]
        /// Kept edges of the cell's own genotype that are parameter-free.
        public var parameterFreeCount: Int

        public init(softmax: [[Double]], genotypeMarks: [[Int]], parameterFreeCount: Int) {
            self.softmax = softmax
            self.genotypeMarks = genotypeMarks
            self.parameterFreeCount = parameterFreeCount
        }
    }

    /// Per cell type; with per-layer α, the mean softmax over the type's cells.
    public var cellTypes: [CellType]
    /// The genotype the cell types' weights derive.
    public var genotype: GenotypeDescription?
    /// Every cell's own α, in cell order; nil when cells share α.
    public var layers: [Layer]?

    public init(cellTypes: [CellType], genotype: GenotypeDescription?, layers: [Layer]? = nil) {
        self.cellTypes = cellTypes
        self.genotype = genotype
        self.layers = layers
    }

    public func cellType(_ name: String) -> CellType? { cellTypes.first { $0.name == name } }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: FieldKey.self)
        genotype = try container.decodeIfPresent(GenotypeDescription.self, forKey: FieldKey("genotype"))
        if let softmax = try container.decodeIfPresent([[[Double]]].self, forKey: FieldKey("layer_softmax")) {
            let marks = try container.decode([[[Int]]].self, forKey: FieldKey("layer_genotype_marks"))
            let parameterFree = try container.decode([Int].self, forKey: FieldKey("layer_parameter_free"))
            guard marks.count == softmax.count, parameterFree.count == softmax.count else {
                throw DecodingError.dataCorruptedError(forKey: FieldKey("layer_softmax"), in: container,
                    debugDescription: "\(softmax.count) layers of softmax, \(marks.count) of marks, \(parameterFree.count) parameter-free counts")
            }
            layers = softmax.indices.map { Layer(softmax: softmax[$0], genotypeMarks: marks[$0], parameterFreeCount: parameterFree[$0]) }
        }
        cellTypes = try container.allKeys.compactMap { $0.suffix(after: "softmax_") }.sorted(by: CellTypeOrder.precedes).map { name in
            CellType(name: name, softmax: try container.decode([[Double]].self, forKey: FieldKey("softmax_" + name)),
                     genotypeMarks: try container.decodeIfPresent([[Int]].self, forKey: FieldKey("genotype_marks_" + name)) ?? [])
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encodeIfPresent(genotype, forKey: FieldKey("genotype"))
        for type in cellTypes {
            try container.encode(type.softmax, forKey: FieldKey("softmax_" + type.name))
            try container.encode(type.genotypeMarks, forKey: FieldKey("genotype_marks_" + type.name))
        }
        if let layers {
            try container.encode(layers.map(\.softmax), forKey: FieldKey("layer_softmax"))
            try container.encode(layers.map(\.genotypeMarks), forKey: FieldKey("layer_genotype_marks"))
            try container.encode(layers.map(\.parameterFreeCount), forKey: FieldKey("layer_parameter_free"))
        }
    }
}

/// Λ-DARTS's view of the layers (DESIGN §4): cosines between the per-cell
/// gradients Λ_l on the weight step (train) and the architecture step (valid).
public struct AlignmentMetrics: EventPayload {
    public static let type = "alignment"

    public struct CellType: Sendable, Equatable {
        public var name: String
        /// Cells of the type × cells of the type.
        public var trainCosine: [[Double]]
        public var validCosine: [[Double]]
        /// Mean over pairs; nil with fewer than two cells of the type.
        public var trainCorrelation: Double?
        public var validCorrelation: Double?

        public init(name: String, trainCosine: [[Double]], validCosine: [[Double]], trainCorrelation: Double?, validCorrelation: Double?) {
            self.name = name
            self.trainCosine = trainCosine
            self.validCosine = validCosine
            self.trainCorrelation = trainCorrelation
            self.validCorrelation = validCorrelation
        }
    }

    public var cellTypes: [CellType]
    /// Each cell's contribution to ∂L_val/∂α (edges × operations), in cell order.
    public var layerAlphaGradients: [[[Double]]]

    public init(cellTypes: [CellType], layerAlphaGradients: [[[Double]]]) {
        self.cellTypes = cellTypes
        self.layerAlphaGradients = layerAlphaGradients
    }

    public func cellType(_ name: String) -> CellType? { cellTypes.first { $0.name == name } }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: FieldKey.self)
        layerAlphaGradients = try container.decode([[[Double]]].self, forKey: FieldKey("layer_alpha_gradients"))
        cellTypes = try container.allKeys.compactMap { $0.suffix(after: "valid_cosine_") }.sorted(by: CellTypeOrder.precedes).map { name in
            CellType(name: name,
                     trainCosine: try container.decode([[Double]].self, forKey: FieldKey("train_cosine_" + name)),
                     validCosine: try container.decode([[Double]].self, forKey: FieldKey("valid_cosine_" + name)),
                     trainCorrelation: try container.decodeIfPresent(Double.self, forKey: FieldKey("train_corr_" + name)),
                     validCorrelation: try container.decodeIfPresent(Double.self, forKey: FieldKey("valid_corr_" + name)))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encode(layerAlphaGradients, forKey: FieldKey("layer_alpha_gradients"))
        for type in cellTypes {
            try container.encode(type.trainCosine, forKey: FieldKey("train_cosine_" + type.name))
            try container.encode(type.validCosine, forKey: FieldKey("valid_cosine_" + type.name))
            // null, not absent: "no pairs" is a value a reader should see.
            try container.encode(type.trainCorrelation, forKey: FieldKey("train_corr_" + type.name))
            try container.encode(type.validCorrelation, forKey: FieldKey("valid_corr_" + type.name))
        }
    }
}

/// The dominant eigenvalue of the α-Hessian of the validation loss (DESIGN §5).
public struct HessianMetrics: EventPayload {
    public static let type = "hessian"
    public var eigenvalue: Double
    public var productCount: Int
    public var lanczosIterations: Int
    public var seconds: Double
    public var batchLoss: Double
    /// Measured at an epoch end (the eigenvalues DARTS-ES uses), not mid-epoch.
    public var atEpochEnd: Bool

    public init(eigenvalue: Double, productCount: Int, lanczosIterations: Int, seconds: Double, batchLoss: Double, atEpochEnd: Bool) {
        self.eigenvalue = eigenvalue
        self.productCount = productCount
        self.lanczosIterations = lanczosIterations
        self.seconds = seconds
        self.batchLoss = batchLoss
        self.atEpochEnd = atEpochEnd
    }

    enum CodingKeys: String, CodingKey {
        case eigenvalue, productCount = "hvps", lanczosIterations = "lanczos_iterations", seconds, batchLoss = "batch_loss", atEpochEnd = "epoch_end"
    }
}

/// DARTS-ES's rule at an eigenvalue epoch (R-DARTS `EVLocalAvg`).
public struct EarlyStoppingReport: EventPayload {
    public static let type = "es"
    public var eigenvalue: Double
    public var localAverage: Double?
    public var localAverageEpoch: Int
    public var threshold: Double?
    public var triggered: Bool
    /// `notify`, `stop` or `ada`.
    public var action: String
    public var stopEpoch: Int?
    public var stopGenotype: String?
    public var ratio: Double?

    public init(eigenvalue: Double, localAverage: Double?, localAverageEpoch: Int, threshold: Double?, triggered: Bool, action: String) {
        self.eigenvalue = eigenvalue
        self.localAverage = localAverage
        self.localAverageEpoch = localAverageEpoch
        self.threshold = threshold
        self.triggered = triggered
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case eigenvalue, localAverage = "local_average", localAverageEpoch = "local_average_epoch", threshold, triggered, action
        case stopEpoch = "stop_epoch", stopGenotype = "stop_genotype", ratio
    }
}

/// DARTS-ES ended the search (or DARTS-ADA, at its weight-decay cap).
public struct EarlyStop: EventPayload {
    public static let type = "es_stop"
    public var stopEpoch: Int
    public var genotype: String
    public var reason: String?

    public init(stopEpoch: Int, genotype: String, reason: String? = nil) {
        self.stopEpoch = stopEpoch
        self.genotype = genotype
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey { case stopEpoch = "stop_epoch", genotype, reason }
}

/// DARTS-ADA rolled back and raised the weight decay.
public struct Adaptation: EventPayload {
    public static let type = "ada"
    public var rolledBackTo: String
    public var weightDecay: Double

    public init(rolledBackTo: String, weightDecay: Double) {
        self.rolledBackTo = rolledBackTo
        self.weightDecay = weightDecay
    }

    enum CodingKeys: String, CodingKey { case rolledBackTo = "rolled_back_to", weightDecay = "weight_decay" }
}

/// What one Λ-DARTS weight step did, so a user can judge whether the
/// regulariser is signal or noise (DESIGN §4).
public struct LambdaHealth: EventPayload {
    public static let type = "lambda"
    public var lambda: Double
    public var epsilon: Double
    public var taskGradientNorm: Double
    public var regulariserGradientNorm: Double
    public var cosine: Double
    public var clipFactor: Double
    /// ‖regulariser‖ / ‖task‖.
    public var ratio: Double
    public var variant: String
    public var differenceMode: String

    public init(lambda: Double, epsilon: Double, taskGradientNorm: Double, regulariserGradientNorm: Double, cosine: Double,
                clipFactor: Double, variant: String, differenceMode: String) {
        self.lambda = lambda
        self.epsilon = epsilon
        self.taskGradientNorm = taskGradientNorm
        self.regulariserGradientNorm = regulariserGradientNorm
        self.cosine = cosine
        self.clipFactor = clipFactor
        self.ratio = taskGradientNorm > 0 ? regulariserGradientNorm / taskGradientNorm : .nan
        self.variant = variant
        self.differenceMode = differenceMode
    }

    /// Above this ratio the dashboard warns that the regulariser dominates.
    public static let dominanceRatio = 10.0

    enum CodingKeys: String, CodingKey {
        case lambda, epsilon, taskGradientNorm = "task_grad_norm", regulariserGradientNorm = "reg_grad_norm", cosine
        case clipFactor = "clip_factor", ratio, variant, differenceMode = "fd"
    }
}

/// A control command took effect (it is also in the run's journal).
public struct ControlApplied: EventPayload {
    public static let type = "control"
    public var command: String
    /// The parameter a `set` changed.
    public var key: String?

    public init(command: String, key: String? = nil) {
        self.command = command
        self.key = key
    }
}

public struct SnapshotWritten: EventPayload {
    public static let type = "snapshot"
    public var name: String
    /// What made it: the command, or `epoch end`.
    public var command: String

    public init(name: String, command: String) {
        self.name = name
        self.command = command
    }
}

public struct ErrorReport: EventPayload {
    public static let type = "error"
    public var message: String

    public init(message: String) { self.message = message }
}

/// A loss or gradient stopped being finite; the search halted without the bad update.
public struct Divergence: EventPayload {
    public static let type = "diverged"
    public var reason: String

    public init(reason: String) { self.reason = reason }
}

/// `:fork`: the run goes on under a new name.
public struct ForkReport: EventPayload {
    public static let type = "fork"
    public var from: String
    public var to: String
    /// The snapshot the original run can be resumed from.
    public var snapshot: String

    public init(from: String, to: String, snapshot: String) {
        self.from = from
        self.to = to
        self.snapshot = snapshot
    }
}

/// A coding key made from any string: fields named after cell types, or
/// after parameter keys.
public struct FieldKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }

    func suffix(after prefix: String) -> String? {
        stringValue.hasPrefix(prefix) ? String(stringValue.dropFirst(prefix.count)) : nil
    }
}

/// `normal` before `reduce`, then alphabetical: the order α matrices have.
enum CellTypeOrder {
    static func precedes(_ a: String, _ b: String) -> Bool {
        let rank = ["normal": 0, "reduce": 1]
        return (rank[a] ?? 2, a) < (rank[b] ?? 2, b)
    }
}
