/// Everything a search run is configured with. Defaults are the DARTS
/// paper's search settings (CIFAR-10, first order) except where noted; the
/// dashboard's demo overrides them in `Configs/default.toml`.
public struct SearchConfig: Codable, Sendable, Equatable {
    public var runName = "search"

    // data
    public var dataset = "fashion-mnist"
    /// Folder with the dataset files; empty = the default location.
    public var dataDirectory = ""
    /// Use only the first N training images (0 = all).
    public var subset = 0
    public var trainPortion = 0.5
    public var randomCropAndFlip = false
    public var cutoutLength = 0
    /// Cutout probability reached at the last epoch (ramped linearly from 0).
    public var cutoutProbability = 0.0
    public var syntheticImageSize = 8
    public var syntheticClasses = 4

    // network
    public var space = "darts"
    public var initialChannels = 16
    public var layers = 8

    // search
    public var epochs = 50
    public var batchSize = 64
    public var seed = 2
    public var threads = 1
    public var order = SearchOrder.first

    // weight optimiser (SGD, cosine schedule)
    public var learningRate = 0.025
    public var learningRateMin = 0.001
    public var momentum = 0.9
    public var weightDecay = 3e-4
    public var gradientClip = 5.0

    // architecture optimiser (Adam)
    public var archLearningRate = 3e-4
    public var archWeightDecay = 1e-3
    public var archBeta1 = 0.5
    public var archBeta2 = 0.999

    // R-DARTS regularisers
    /// ScheduledDropPath probability reached at the last epoch (ramped linearly from 0).
    public var dropPathProbability = 0.0

    // Λ-DARTS (Movahedi et al., ICLR 2023)
    public var lambdaEnabled = false
    /// λ; with the ramp it is reached at the last epoch (0 at the first).
    public var lambdaValue = 0.125
    public var lambdaRamp = true
    public var lambdaVariant = LambdaVariant.corr
    /// ε0 of ε = ε0 / ‖d‖.
    public var lambdaEpsilon = 1e-4
    public var lambdaDifference = LambdaDifferenceMode.reference

    // curvature (dominant eigenvalue of the validation-loss Hessian w.r.t. α)
    /// Also compute the eigenvalue every N steps (0: only at epoch ends).
    public var hessianEvery = 0
    /// Lanczos stops when the top Ritz value moves less than this (relative).
    public var hessianTolerance = 1e-3
    public var hessianMaxIterations = 20
    /// Finite-difference step h of the Hessian-vector products (unit directions).
    public var hessianStep = 1e-2

    // DARTS-ES / DARTS-ADA (R-DARTS)
    public var esWindow = 5
    public var esStartEpoch = 10
    public var esDelta = 4
    public var esFactor = 1.3
    /// Epochs between the eigenvalues the rule uses.
    public var esFrequency = 1
    public var esAction = EarlyStoppingAction.notify
    /// DARTS-ADA multiplies the weight decay by this at each trigger ...
    public var adaMultiplier = 3.0
    /// ... up to this value; at the cap a trigger stops the search.
    public var adaMaxWeightDecay = 0.0243

    // metrics and snapshots
    /// Write softmax(α) to the metrics file every N steps (and at every epoch end).
    public var alphaEvery = 50
    /// Write the per-step layer-alignment diagnostics to the metrics file every N steps.
    public var alignmentEvery = 10
    /// Evaluate the derived genotype's discrete network at each epoch end.
    public var discretisationGap = true
    /// Automatic snapshots kept (one per epoch end, oldest deleted first); 0 = none.
    public var snapshotKeep = 8

    // ground truth (DESIGN §6)
    /// The tabular benchmark searches in a tabulated space report regret
    /// against; empty: the shipped table of the space and dataset, if any.
    public var tabularTable = ""

    public init() {}
}

/// How the architecture gradient is computed (DESIGN §3).
public enum SearchOrder: String, Codable, Sendable, CaseIterable {
    /// First-order DARTS: ∇α L_val at the current weights.
    case first
    /// Unrolled DARTS: the finite-difference implicit gradient of the DARTS paper.
    case second
}

/// What a DARTS-ES trigger does (DESIGN §5).
public enum EarlyStoppingAction: String, Codable, Sendable, CaseIterable {
    /// Mark the trigger and go on.
    case notify
    /// DARTS-ES: end the search; the genotype of the stop epoch is the result.
    case stop
    /// DARTS-ADA: roll back to the stop epoch and raise the weight decay.
    case ada
}
