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
    public var syntheticImageSize = 8
    public var syntheticClasses = 4

    // network
    public var space = "darts"
    public var initialChannels = 16
    public var layers = 8
    public var alphaLayout = AlphaLayout.shared

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

    // curvature (dominant eigenvalue of the validation-loss Hessian w.r.t. α)
    /// Also compute the eigenvalue every N steps (0: only at epoch ends).
    public var hessianEvery = 0
    /// Lanczos stops when the top Ritz value moves less than this (relative).
    public var hessianTolerance = 1e-3
    public var hessianMaxIterations = 20
    /// Finite-difference step h of the Hessian-vector products (unit directions).
    public var hessianStep = 1e-2

    // metrics and snapshots
    /// Write softmax(α) to the metrics file every N steps (and at every epoch end).
    public var alphaEvery = 50
    /// Write the per-step layer-alignment diagnostics to the metrics file every N steps.
    public var alignmentEvery = 10
    /// Evaluate the derived genotype's discrete network at each epoch end.
    public var discretisationGap = true
    /// Training batches its batch norm statistics are re-estimated on first.
    public var gapRecalibrationBatches = 20
    /// Automatic snapshots kept (one per epoch end, oldest deleted first); 0 = none.
    public var snapshotKeep = 8

    // ground truth (DESIGN §6)
    /// The tabular benchmark searches in a tabulated space report regret
    /// against; empty: the shipped table of the space and dataset, if any.
    public var tabularTable = ""

    /// The parameters the remedies declare (``Remedy/parameters``), by key;
    /// every one is present, with its default until set. Each remedy's file
    /// gives its parameters typed accessors (`lambdaValue`, `esAction`, ...).
    var remedyValues: [String: ConfigValue]

    public init() {
        remedyValues = Dictionary(uniqueKeysWithValues: Remedies.parameters.map { ($0.key, $0.defaultValue!) })
    }

    /// A remedy parameter's value (declared keys only: a typo is a bug, not a default).
    subscript(remedy key: String) -> ConfigValue {
        get {
            guard let value = remedyValues[key] else { preconditionFailure("no remedy parameter '\(key)' is declared") }
            return value
        }
        set { remedyValues[key] = newValue }
    }
}

extension SearchConfig {
    /// Encoded as the parameter table's keys and values (`"lambda.value":
    /// 0.125`), and decoded through the table, so a config read from a
    /// snapshot is validated exactly as a config file is.
    public init(from decoder: Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: FieldKey.self)
        for key in container.allKeys {
            let value = try container.decode(ConfigValue.self, forKey: key)
            do { try set(key.stringValue, to: value) } catch {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: error.description)
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        for spec in SearchParameters.all { try container.encode(spec.read(self), forKey: FieldKey(spec.key)) }
    }
}

/// How the architecture gradient is computed (DESIGN §3).
public enum SearchOrder: String, Codable, Sendable, CaseIterable {
    /// First-order DARTS: ∇α L_val at the current weights.
    case first
    /// Unrolled DARTS: the finite-difference implicit gradient of the DARTS paper.
    case second
}
