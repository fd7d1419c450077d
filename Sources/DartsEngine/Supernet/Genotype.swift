/// A discrete cell architecture derived from the mixing weights by the DARTS
/// rule, printed as the reference code's `Genotype(...)` namedtuple.
public struct Genotype: Equatable, Codable, Sendable, CustomStringConvertible {
    /// One kept edge: its operation and the state it reads (0 = c_{k-2},
    /// 1 = c_{k-1}, 2 + j = node j).
    public struct Edge: Equatable, Codable, Sendable {
        public var operation: Operation
        public var input: Int
        public init(_ operation: Operation, _ input: Int) {
            self.operation = operation
            self.input = input
        }
    }

    public var normal: [Edge]
    public var reduce: [Edge]
    /// States concatenated into the cell output: range(2, 2 + nodes).
    public var concat: Range<Int>

    public init(normal: [Edge], reduce: [Edge], concat: Range<Int>) {
        self.normal = normal
        self.reduce = reduce
        self.concat = concat
    }

    /// The DARTS rule for one cell type: per node, the (at most) two incoming
    /// edges whose strongest non-`none` operation weighs most, each with that
    /// operation. Ties go to the earlier edge / operation, as the reference's
    /// stable sort and strict comparison do. `weights` is edges × K (softmax(α)).
    /// With `includingNone`, `none` competes like any operation (NAS-Bench-201's
    /// rule, for spaces that tabulate architectures with `none` edges).
    public static func derive(weights: [[Double]], operations: [[Operation]], topology: CellTopology,
                              includingNone: Bool = false) -> [Edge] {
        require(weights.count == topology.edgeCount && operations.count == topology.edgeCount,
                     "Genotype.derive: \(weights.count) weight rows and \(operations.count) operation lists for \(topology.edgeCount) edges")
        var result: [Edge] = []
        var edge = 0
        for inputs in topology.nodeInputs {
            var candidates: [(edge: Int, input: Int, best: Int, weight: Double)] = []
            for input in inputs {
                var best = -1
                for (k, operation) in operations[edge].enumerated() where includingNone || operation != .none {
                    if best < 0 || weights[edge][k] > weights[edge][best] { best = k }
                }
                if best >= 0 { candidates.append((edge, input, best, weights[edge][best])) }
                edge += 1
            }
            let kept = candidates.enumerated()
                .sorted { $0.element.weight != $1.element.weight ? $0.element.weight > $1.element.weight : $0.offset < $1.offset }
                .prefix(2)
            for (_, candidate) in kept {
                result.append(Edge(operations[candidate.edge][candidate.best], candidate.input))
            }
        }
        return result
    }

    /// The number of skip connections in the normal cell: DARTS's collapse symptom.
    public var normalSkipCount: Int { normal.filter { $0.operation == .skipConnect }.count }

    /// Normal-cell edges with a parameter-free operation (skip, pooling,
    /// `none`): collapse in a space with more than one of them.
    public var normalParameterFreeCount: Int { normal.filter { $0.operation.isParameterFree }.count }

    /// The genotype in names, as telemetry carries it.
    public var named: GenotypeDescription {
        func cell(_ edges: [Edge]) -> [GenotypeDescription.Edge] { edges.map { .init(operation: $0.operation.rawValue, input: $0.input) } }
        return GenotypeDescription(normal: cell(normal), reduce: cell(reduce), concat: concat)
    }

    /// The DARTS `Genotype(normal=[...], ...)` form.
    public var description: String { named.description }

    /// Both cells as a Graphviz digraph (one cluster per cell type).
    public var dot: String { named.dot }
}

extension Genotype {
    /// The genotype of a space for given mixing weights (one edges × K matrix
    /// per α; the last one is the reduction cell's).
    public init(space: SearchSpace, mixing: [[[Double]]]) {
        self.init(normal: Genotype.derive(cell: mixing[0], reduction: false, in: space),
                  reduce: Genotype.derive(cell: mixing[mixing.count - 1], reduction: true, in: space),
                  concat: 2..<(2 + space.topology.nodeCount))
    }

    /// The kept edges of one cell of a space: the DARTS rule (or the space's
    /// rule for `none`) on its edges × K weights with its type's operations.
    public static func derive(cell weights: [[Double]], reduction: Bool, in space: SearchSpace) -> [Edge] {
        derive(weights: weights, operations: space.operations(reduction: reduction), topology: space.topology,
               includingNone: space.derivesNone)
    }

    /// Each cell's own kept edges from per-layer mixing weights (one matrix
    /// per cell; `reductionCells` says which cells reduce).
    public static func layers(_ layerMixing: [[[Double]]], reductionCells: [Bool], in space: SearchSpace) -> [[Edge]] {
        layerMixing.indices.map { derive(cell: layerMixing[$0], reduction: reductionCells[$0], in: space) }
    }

    /// One cell's kept edges as the reference code's list, `[('op', input), ...]`.
    public static func cellDescription(_ edges: [Edge]) -> String {
        GenotypeDescription.cellDescription(edges.map { .init(operation: $0.operation.rawValue, input: $0.input) })
    }
}

/// softmax over the last axis of an `[edges, K]` matrix, in Double.
public func softmaxRows<Scalar: TensorScalar>(_ alpha: Tensor<Scalar>) -> [[Double]] {
    require(alpha.rank == 2, "softmaxRows: expected an [edges, K] matrix, got \(alpha.shape)")
    let width = alpha.shape[1]
    return (0..<alpha.shape[0]).map { e in
        let row = (0..<width).map { Double(alpha.scalars[e * width + $0]) }
        let top = row.max() ?? 0
        let exps = row.map { Double.exp($0 - top) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }
}

extension Supernet {
    /// softmax(α) of each α matrix as edges × K rows of Doubles, in
    /// ``ParameterStore/alphaNames`` order (one per cell with per-layer α).
    public func mixingWeights() -> [[[Double]]] {
        parameters.alphaNames.map { softmaxRows(parameters.alphas[$0]!) }
    }

    /// The mixing weights of each cell type: its α's softmax, or with
    /// per-layer α the mean over the type's cells
    /// (``AlphaLayout/typeMixing(layerMixing:cellsByType:)``).
    public func typeMixingWeights() -> [[[Double]]] {
        let weights = mixingWeights()
        return alphaLayout == .shared ? weights : AlphaLayout.typeMixing(layerMixing: weights, cellsByType: cellsByType)
    }

    /// The genotype the current α derives (DESIGN §3): with per-layer α, the
    /// one the cell types' mean weights derive, which is what regret and the
    /// skip count are measured on.
    public func genotype() -> Genotype {
        Genotype(space: space, mixing: typeMixingWeights())
    }

    /// Each cell's own kept edges under per-layer α (the DARTS rule on the
    /// cell's α with its type's operations); nil when cells share α.
    public func layerGenotypes() -> [[Genotype.Edge]]? {
        alphaLayout == .perLayer ? Genotype.layers(mixingWeights(), reductionCells: cells.map(\.reduction), in: space) : nil
    }

    /// The discrete network α derives as mixing weights, one matrix per α
    /// (for `forward(fixedMixingWeights:)`): the genotype's one-hot weights,
    /// or with per-layer α each cell's own.
    public func discreteMixingWeights<T: TensorScalar>() -> [Tensor<T>] {
        guard let layers = layerGenotypes() else { return genotype().oneHotMixing(in: space) }
        return layers.indices.map { cell in
            Genotype.oneHot(Genotype.marks(of: layers[cell], operations: space.operations(reduction: cells[cell].reduction),
                                           topology: space.topology), in: space)
        }
    }
}

import RealModule

extension Genotype {
    /// `[edge, operation]` of every operation the genotype keeps, one list
    /// per α of the space (normal, then reduce unless the space shares α):
    /// what a heatmap marks, and where the one-hot network puts its ones.
    public func marks(in space: SearchSpace) -> [[[Int]]] {
        let normalMarks = Self.marks(of: normal, operations: space.normalOperations, topology: space.topology)
        return space.sharesAlphaAcrossCellTypes ? [normalMarks]
            : [normalMarks, Self.marks(of: reduce, operations: space.reduceOperations, topology: space.topology)]
    }

    /// `[edge, operation]` of each of one cell's kept edges (as ``derive``
    /// lists them, at most two per node).
    public static func marks(of edges: [Edge], operations: [[Operation]], topology: CellTopology) -> [[Int]] {
        let firstEdge = topology.firstEdgeOfNode
        var result: [[Int]] = []
        var kept = 0
        for (node, inputs) in topology.nodeInputs.enumerated() {
            for _ in 0..<min(2, inputs.count) where kept < edges.count {
                let edge = edges[kept]
                kept += 1
                guard let slot = inputs.firstIndex(of: edge.input) else { continue }
                let index = firstEdge[node] + slot
                if let k = operations[index].firstIndex(of: edge.operation) { result.append([index, k]) }
            }
        }
        return result
    }

    /// The discrete network as mixing weights: 1 for each kept edge's chosen
    /// operation, 0 elsewhere (dropped edges contribute nothing). One matrix
    /// per α of the space, for `Supernet.forward(fixedMixingWeights:)`.
    public func oneHotMixing<Scalar: TensorScalar>(in space: SearchSpace) -> [Tensor<Scalar>] {
        marks(in: space).map { Self.oneHot($0, in: space) }
    }

    /// An edges × K matrix with 1 at each mark.
    static func oneHot<Scalar: TensorScalar>(_ marks: [[Int]], in space: SearchSpace) -> Tensor<Scalar> {
        var result = Tensor<Scalar>(zeros: [space.topology.edgeCount, space.operationsPerEdge])
        for mark in marks { result.scalars[mark[0] * space.operationsPerEdge + mark[1]] = 1 }
        return result
    }
}
