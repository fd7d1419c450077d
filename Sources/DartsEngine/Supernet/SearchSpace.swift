/// Which operations each edge of a cell may choose from, for normal and
/// reduction cells, and how the cell's intermediate nodes are wired.
public struct SearchSpace: Sendable, Equatable {
    public var name: String
    public var topology: CellTopology
    /// `normalOperations[e]` lists edge e's candidates (S1 differs per edge).
    public var normalOperations: [[Operation]]
    public var reduceOperations: [[Operation]]
    /// When true, normal and reduction cells share one α (the `tiny` space,
    /// whose 81 architectures a tabular benchmark can cover).
    public var sharesAlphaAcrossCellTypes: Bool
    /// When true, `none` may be an edge's derived operation (NAS-Bench-201's
    /// rule) instead of being passed over (DARTS's): the tabulated `tiny-s3`,
    /// whose table covers architectures with `none` edges.
    public var derivesNone: Bool

    public init(name: String, topology: CellTopology = .darts, normal: [[Operation]], reduce: [[Operation]],
                sharesAlphaAcrossCellTypes: Bool = false, derivesNone: Bool = false) {
        require(normal.count == topology.edgeCount && reduce.count == topology.edgeCount,
                     "SearchSpace \(name): need \(topology.edgeCount) edges, got \(normal.count) normal and \(reduce.count) reduce")
        let width = normal[0].count
        require((normal + reduce).allSatisfy { $0.count == width && !$0.isEmpty },
                     "SearchSpace \(name): every edge needs the same number of candidate operations")
        self.name = name
        self.topology = topology
        self.normalOperations = normal
        self.reduceOperations = reduce
        self.sharesAlphaAcrossCellTypes = sharesAlphaAcrossCellTypes
        self.derivesNone = derivesNone
    }

    /// K, the number of candidates per edge (the α matrices are edges × K).
    public var operationsPerEdge: Int { normalOperations[0].count }

    public func operations(reduction: Bool) -> [[Operation]] {
        reduction ? reduceOperations : normalOperations
    }

    /// All spaces by name: `darts` (= S5), `s1`…`s4` (R-DARTS) and the
    /// tabulated `tiny` and `tiny-s3`.
    public static let all: [SearchSpace] = [darts, s1, s2, s3, s4, tiny, tinyS3]

    public static func named(_ name: String) -> SearchSpace? {
        all.first { $0.name == name.lowercased() }
    }

    /// The DARTS space (R-DARTS's S5): all eight operations on every edge.
    public static let darts = uniform(
        "darts",
        [.none, .maxPool3x3, .avgPool3x3, .skipConnect, .sepConv3x3, .sepConv5x5, .dilConv3x3, .dilConv5x5])

    /// R-DARTS S1: a different pair of operations on each edge (R-DARTS `spaces.py`).
    public static let s1 = SearchSpace(
        name: "s1",
        normal: [
            [.skipConnect, .dilConv3x3], [.skipConnect, .dilConv5x5],
            [.skipConnect, .dilConv5x5], [.skipConnect, .sepConv3x3], [.skipConnect, .dilConv3x3],
            [.maxPool3x3, .skipConnect], [.skipConnect, .sepConv3x3], [.skipConnect, .sepConv3x3], [.skipConnect, .dilConv3x3],
            [.skipConnect, .sepConv3x3], [.maxPool3x3, .skipConnect], [.skipConnect, .dilConv3x3],
            [.dilConv3x3, .dilConv5x5], [.dilConv3x3, .dilConv5x5],
        ],
        reduce: [
            [.maxPool3x3, .avgPool3x3], [.maxPool3x3, .dilConv3x3],
            [.maxPool3x3, .avgPool3x3], [.maxPool3x3, .avgPool3x3], [.skipConnect, .dilConv5x5],
            [.maxPool3x3, .avgPool3x3], [.maxPool3x3, .sepConv3x3], [.skipConnect, .dilConv3x3], [.skipConnect, .dilConv5x5],
            [.maxPool3x3, .avgPool3x3], [.maxPool3x3, .avgPool3x3], [.skipConnect, .dilConv5x5],
            [.skipConnect, .dilConv5x5], [.skipConnect, .dilConv5x5],
        ])

    /// R-DARTS S2: skip connection or 3×3 separable convolution.
    public static let s2 = uniform("s2", [.skipConnect, .sepConv3x3])
    /// R-DARTS S3: S2 plus `none`.
    public static let s3 = uniform("s3", [.none, .skipConnect, .sepConv3x3])
    /// R-DARTS S4: standard normal noise or 3×3 separable convolution.
    public static let s4 = uniform("s4", [.noise, .sepConv3x3])

    /// dartscope's own small space: two intermediate nodes, four edges, three
    /// operations, one α for both cell types — 3⁴ = 81 architectures, few
    /// enough to train every one of them for a tabular ground truth (DESIGN §6).
    public static let tiny = SearchSpace(
        name: "tiny", topology: .tiny,
        normal: Array(repeating: [.skipConnect, .sepConv3x3, .maxPool3x3], count: 4),
        reduce: Array(repeating: [.skipConnect, .sepConv3x3, .maxPool3x3], count: 4),
        sharesAlphaAcrossCellTypes: true)

    /// The `tiny` topology with R-DARTS S3's operations: `none`, a skip
    /// connection and a 3×3 separable convolution on each of the four edges,
    /// one α for both cell types — 81 architectures. Two of the three
    /// candidates are parameter-free, as in the space where R-DARTS saw DARTS
    /// collapse to skip connections; `none` is a candidate of the derived
    /// architecture too (as NAS-Bench-201 derives), so the table spans
    /// everything from a network with empty cells to one of convolutions.
    public static let tinyS3 = SearchSpace(
        name: "tiny-s3", topology: .tiny,
        normal: Array(repeating: [.none, .skipConnect, .sepConv3x3], count: 4),
        reduce: Array(repeating: [.none, .skipConnect, .sepConv3x3], count: 4),
        sharesAlphaAcrossCellTypes: true, derivesNone: true)

    private static func uniform(_ name: String, _ operations: [Operation]) -> SearchSpace {
        SearchSpace(name: name, normal: Array(repeating: operations, count: 14), reduce: Array(repeating: operations, count: 14))
    }
}

/// The wiring of a cell: for each intermediate node, the states it sums one
/// mixed edge from. States 0 and 1 are the cell's inputs c_{k-2}, c_{k-1};
/// state 2 + j is intermediate node j. Edges are numbered node by node, inputs
/// in order — DARTS's order (edges 0–1 feed node 0, 2–4 node 1, ...).
public struct CellTopology: Sendable, Equatable {
    public var nodeInputs: [[Int]]

    public init(nodeInputs: [[Int]]) {
        for (node, inputs) in nodeInputs.enumerated() {
            require(!inputs.isEmpty && inputs.allSatisfy { $0 >= 0 && $0 < 2 + node },
                         "CellTopology: node \(node) may only read states 0..<\(2 + node), got \(inputs)")
        }
        self.nodeInputs = nodeInputs
    }

    /// DARTS: node j reads every earlier state (2 + j edges), 14 edges in all.
    public static let darts = CellTopology(nodeInputs: (0..<4).map { Array(0..<(2 + $0)) })
    /// `tiny`: node 0 ← c_{k-2}, c_{k-1}; node 1 ← c_{k-1}, node 0.
    public static let tiny = CellTopology(nodeInputs: [[0, 1], [1, 2]])

    public var nodeCount: Int { nodeInputs.count }
    public var edgeCount: Int { nodeInputs.reduce(0) { $0 + $1.count } }

    /// (node, input state) of every edge, in edge order.
    public var edges: [(node: Int, input: Int)] {
        nodeInputs.enumerated().flatMap { node, inputs in inputs.map { (node, $0) } }
    }

    /// The first edge index of each node.
    public var firstEdgeOfNode: [Int] {
        nodeInputs.reduce(into: [0]) { $0.append($0.last! + $1.count) }.dropLast().map { $0 }
    }

    /// A label such as `n2←c_{k-1}` or `n3←n0` for edge `edge`.
    public func edgeLabel(_ edge: Int) -> String {
        let (node, input) = edges[edge]
        let source = switch input {
        case 0: "c_{k-2}"
        case 1: "c_{k-1}"
        default: "n\(input - 2)"
        }
        return "n\(node)←\(source)"
    }
}
