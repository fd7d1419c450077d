/// What a consumer needs to draw a run before any metric arrives: the first
/// event of every metrics stream (`type: run`), and what the dashboard lays
/// itself out from. A producer describes its search space in names, so the
/// dashboard never needs the engine's types.
public struct RunDescription: EventPayload {
    public static let type = "run"

    /// The telemetry schema the stream follows (docs/telemetry.md).
    public var schema: Int
    /// Who wrote the stream: `dartscope` or a probe's name and version.
    public var producer: String
    public var runName: String
    public var space: String
    public var dataset: String
    public var epochs: Int
    public var stepsPerEpoch: Int
    /// Every cell's type in network order (`normal`, `reduce`).
    public var cells: [String]
    /// The cell types with their own α, in α order: `normal` (then `reduce`).
    public var cellTypes: [String]
    /// One label per mixed edge, e.g. `n1←c_{k-1}`.
    public var edgeLabels: [String]
    /// Per cell type, per edge, the candidate operations' names.
    public var operations: [String: [[String]]]
    /// Every parameter the producer knows, live or not.
    public var parameters: [ParameterDescriptor]
    /// Their values at the start of the stream.
    public var values: [String: ConfigValue]
    /// The ground truth regret is measured against, in one line (its name,
    /// budget, seeds and their agreement); nil outside tabulated spaces.
    public var groundTruth: String?

    public init(producer: String, runName: String, space: String, dataset: String, epochs: Int, stepsPerEpoch: Int,
                cells: [String], cellTypes: [String], edgeLabels: [String], operations: [String: [[String]]],
                parameters: [ParameterDescriptor], values: [String: ConfigValue]) {
        schema = TelemetrySchema.version
        self.producer = producer
        self.runName = runName
        self.space = space
        self.dataset = dataset
        self.epochs = epochs
        self.stepsPerEpoch = stepsPerEpoch
        self.cells = cells
        self.cellTypes = cellTypes
        self.edgeLabels = edgeLabels
        self.operations = operations
        self.parameters = parameters
        self.values = values
    }

    /// A placeholder until a producer has described its run.
    public static let empty = RunDescription(producer: "", runName: "", space: "", dataset: "", epochs: 0, stepsPerEpoch: 0,
                                             cells: [], cellTypes: [], edgeLabels: [], operations: [:], parameters: [], values: [:])

    public var totalSteps: Int { epochs * stepsPerEpoch }
    public var liveParameters: [ParameterDescriptor] { parameters.filter(\.isLive) }
    public func descriptor(_ key: String) -> ParameterDescriptor? { parameters.first { $0.key == key } }

    /// Cell `index`'s own type (`normal` past the described cells).
    public func cellType(ofCell index: Int) -> String {
        cells.indices.contains(index) ? cells[index] : "normal"
    }

    /// The cell type whose α cell `index` mixes with: its own type, or the
    /// only one when every cell shares one α (`tiny`, `tiny-s3`).
    public func alphaType(ofCell index: Int) -> String {
        cellTypes.count == 1 ? cellTypes[0] : cellType(ofCell: index)
    }

    /// The cells that mix with α of `type`, in network order: the rows of that type's layer-cosine matrix.
    public func cells(mixingAlphaOf type: String) -> [Int] {
        cells.indices.filter { alphaType(ofCell: $0) == type }
    }

    enum CodingKeys: String, CodingKey {
        case schema, producer, runName = "run_name", space, dataset, epochs, stepsPerEpoch = "steps_per_epoch"
        case cells, cellTypes = "cell_types", edgeLabels = "edge_labels", operations, parameters, values, groundTruth = "ground_truth"
    }
}

/// The version of the event schema; docs/telemetry.md lists what each
/// version changed.
public enum TelemetrySchema {
    /// 1: untyped dictionaries (before the `run` event existed).
    /// 2: typed events, the `run` header, `genotype_marks_*` in `alphas`,
    ///    non-finite numbers as the strings `nan`, `inf`, `-inf`.
    public static let version = 2
}
