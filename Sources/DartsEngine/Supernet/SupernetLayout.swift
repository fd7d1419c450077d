/// The size of a search network: what DARTS calls C, layers, steps.
public struct NetworkShape: Codable, Sendable, Equatable {
    public var inputChannels: Int
    public var imageSize: Int
    public var classes: Int
    /// C: channels of the first cells (DARTS `init_channels`).
    public var initialChannels: Int
    /// L: number of cells; those at L/3 and 2L/3 reduce.
    public var layers: Int
    public var stemMultiplier: Int = 3

    public init(inputChannels: Int, imageSize: Int, classes: Int, initialChannels: Int, layers: Int, stemMultiplier: Int = 3) {
        self.inputChannels = inputChannels
        self.imageSize = imageSize
        self.classes = classes
        self.initialChannels = initialChannels
        self.layers = layers
        self.stemMultiplier = stemMultiplier
    }

    /// Whether cell `index` is a reduction cell (DARTS: L/3 and 2L/3).
    public func isReduction(cell index: Int) -> Bool {
        index == layers / 3 || index == 2 * layers / 3
    }
}

/// How a cell input is brought to the cell's channel count.
enum Preprocess {
    /// ReLU → conv 1×1 → BN (`ReLUConvBN`).
    case reluConvBN(prefix: String)
    /// ReLU → two shifted stride-2 1×1 convs, concatenated → BN.
    case factorizedReduce(prefix: String)
}

/// One candidate operation on one edge, with its parameter-name prefix.
struct EdgeOperation {
    var operation: Operation
    var prefix: String
}

struct EdgeLayout {
    var input: Int
    var stride: Int
    var operations: [EdgeOperation]
}

struct CellLayout {
    var reduction: Bool
    var channels: Int
    var preprocess0: Preprocess
    var preprocess1: Preprocess
    /// Edges grouped by intermediate node.
    var nodes: [[EdgeLayout]]
    /// Index into the cell types (normal or reduce).
    var typeIndex: Int
    /// Index into the α list: the type's, or the cell's own (per-layer α).
    var alphaIndex: Int
}
