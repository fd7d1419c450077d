/// The DARTS search network (DESIGN §2): stem, L cells of mixed edges, global
/// pooling and a linear classifier, with the reference code's parameter names.
public final class Supernet<Scalar: TensorScalar> {
    public let space: SearchSpace
    public let shape: NetworkShape
    public let parameters: ParameterStore<Scalar>
    /// Whether cells of a type share α (DARTS) or each has its own.
    public let alphaLayout: AlphaLayout
    let cells: [CellLayout]
    /// β of DARTS−'s auxiliary skip connection, β·x added to every stride-1
    /// mixed edge in every pass that mixes with softmax(α) — the supernet
    /// being searched, so evaluation and the α-Hessian see it too; passes
    /// with fixed mixing weights (a discrete network) never do. Set by the
    /// engine from the step plan; 0 leaves the supernet DARTS's.
    public var auxiliarySkipWeight: Double = 0

    /// Builds the network and initialises it with PyTorch's defaults (conv and
    /// linear Kaiming-uniform, affine BN γ = 1 and β = 0, α = 1e-3·N(0, 1)).
    /// The weights are drawn before α, so both layouts of one seed start from
    /// the same weights.
    public init(space: SearchSpace, shape: NetworkShape, alphas alphaLayout: AlphaLayout = .shared, generator: inout RandomGenerator) {
        require(shape.layers >= 1 && shape.initialChannels >= 1 && shape.classes >= 2 && shape.inputChannels >= 1,
                     "Supernet: invalid shape \(shape)")
        self.space = space
        self.shape = shape
        self.alphaLayout = alphaLayout
        let store = ParameterStore<Scalar>()
        parameters = store

        func conv(_ name: String, _ weightShape: [Int]) {
            store.addWeight(name, Initialiser.kaimingUniform(shape: weightShape, generator: &generator))
        }
        func factorizedReduce(_ prefix: String, _ inChannels: Int, _ outChannels: Int) {
            require(outChannels % 2 == 0, "Supernet: FactorizedReduce needs an even channel count, got \(outChannels)")
            conv("\(prefix).conv_1.weight", [outChannels / 2, inChannels, 1, 1])
            conv("\(prefix).conv_2.weight", [outChannels / 2, inChannels, 1, 1])
            store.addBatchNorm("\(prefix).bn", channels: outChannels)
        }
        func reluConvBN(_ prefix: String, _ inChannels: Int, _ outChannels: Int) {
            conv("\(prefix).op.1.weight", [outChannels, inChannels, 1, 1])
            store.addBatchNorm("\(prefix).op.2", channels: outChannels)
        }

        let stemChannels = shape.stemMultiplier * shape.initialChannels
        conv("stem.0.weight", [stemChannels, shape.inputChannels, 3, 3])
        store.addWeight("stem.1.weight", Tensor(repeating: 1, shape: [stemChannels]))
        store.addWeight("stem.1.bias", Tensor(zeros: [stemChannels]))
        store.addBatchNorm("stem.1", channels: stemChannels)

        var previousPrevious = stemChannels, previous = stemChannels, current = shape.initialChannels
        var reductionPrevious = false
        var layouts: [CellLayout] = []
        let topology = space.topology
        for index in 0..<shape.layers {
            let reduction = shape.isReduction(cell: index)
            if reduction { current *= 2 }
            let prefix = "cells.\(index)"
            let preprocess0: Preprocess
            if reductionPrevious {
                factorizedReduce("\(prefix).preprocess0", previousPrevious, current)
                preprocess0 = .factorizedReduce(prefix: "\(prefix).preprocess0")
            } else {
                reluConvBN("\(prefix).preprocess0", previousPrevious, current)
                preprocess0 = .reluConvBN(prefix: "\(prefix).preprocess0")
            }
            reluConvBN("\(prefix).preprocess1", previous, current)

            let candidates = space.operations(reduction: reduction)
            var nodes: [[EdgeLayout]] = []
            var edgeIndex = 0
            for inputs in topology.nodeInputs {
                var edges: [EdgeLayout] = []
                for input in inputs {
                    let stride = reduction && input < 2 ? 2 : 1
                    var operations: [EdgeOperation] = []
                    for (k, operation) in candidates[edgeIndex].enumerated() {
                        let opPrefix = "\(prefix)._ops.\(edgeIndex)._ops.\(k)"
                        Self.registerParameters(of: operation, prefix: opPrefix, channels: current, stride: stride,
                                                conv: conv, factorizedReduce: factorizedReduce, store: store)
                        operations.append(EdgeOperation(operation: operation, prefix: opPrefix))
                    }
                    edges.append(EdgeLayout(input: input, stride: stride, operations: operations))
                    edgeIndex += 1
                }
                nodes.append(edges)
            }
            let typeIndex = reduction && !space.sharesAlphaAcrossCellTypes ? 1 : 0
            layouts.append(CellLayout(reduction: reduction, channels: current, preprocess0: preprocess0,
                                      preprocess1: .reluConvBN(prefix: "\(prefix).preprocess1"), nodes: nodes,
                                      typeIndex: typeIndex, alphaIndex: alphaLayout == .perLayer ? index : typeIndex))
            reductionPrevious = reduction
            previousPrevious = previous
            previous = topology.nodeCount * current
        }
        cells = layouts

        let classifierShape = [shape.classes, previous]
        conv("classifier.weight", classifierShape)
        store.addWeight("classifier.bias", Initialiser.bias(count: shape.classes, weightShape: classifierShape, generator: &generator))

        let alphaShape = [topology.edgeCount, space.operationsPerEdge]
        let alphaNames = switch alphaLayout {
        case .shared: space.sharesAlphaAcrossCellTypes ? ["alphas_normal"] : ["alphas_normal", "alphas_reduce"]
        case .perLayer: (0..<shape.layers).map(AlphaLayout.perLayerName(cell:))
        }
        for name in alphaNames {
            store.addAlpha(name, Initialiser.normal(shape: alphaShape, standardDeviation: 1e-3, generator: &generator))
        }
    }

    private static func registerParameters(
        of operation: Operation, prefix: String, channels c: Int, stride: Int,
        conv: (String, [Int]) -> Void, factorizedReduce: (String, Int, Int) -> Void, store: ParameterStore<Scalar>
    ) {
        switch operation {
        case .none, .noise:
            break
        case .maxPool3x3, .avgPool3x3:
            store.addBatchNorm("\(prefix).1", channels: c)
        case .skipConnect:
            if stride == 2 { factorizedReduce(prefix, c, c) }
        case .sepConv3x3, .sepConv5x5:
            let k = operation.kernelSize
            conv("\(prefix).op.1.weight", [c, 1, k, k])
            conv("\(prefix).op.2.weight", [c, c, 1, 1])
            store.addBatchNorm("\(prefix).op.3", channels: c)
            conv("\(prefix).op.5.weight", [c, 1, k, k])
            conv("\(prefix).op.6.weight", [c, c, 1, 1])
            store.addBatchNorm("\(prefix).op.7", channels: c)
        case .dilConv3x3, .dilConv5x5:
            let k = operation.kernelSize
            conv("\(prefix).op.1.weight", [c, 1, k, k])
            conv("\(prefix).op.2.weight", [c, c, 1, 1])
            store.addBatchNorm("\(prefix).op.3", channels: c)
        }
    }

    /// Number of α matrices: 2 (normal, reduce), 1 when the space shares α,
    /// one per cell under ``AlphaLayout/perLayer``.
    public var alphaCount: Int { parameters.alphaNames.count }

    /// The cell types, `normal` (and `reduce` unless the space shares α
    /// across them): the names telemetry uses.
    public var cellTypeNames: [String] {
        space.sharesAlphaAcrossCellTypes ? ["normal"] : ["normal", "reduce"]
    }

    /// Which α matrix cell `index` mixes with.
    public func alphaIndex(ofCell index: Int) -> Int { cells[index].alphaIndex }

    /// Which of ``cellTypeNames`` cell `index` is.
    public func typeIndex(ofCell index: Int) -> Int { cells[index].typeIndex }

    /// Cell indices grouped by type, in ``cellTypeNames`` order.
    public var cellsByType: [[Int]] { shape.cellsByType(sharedAcrossTypes: space.sharesAlphaAcrossCellTypes) }

    public func isReduction(cell index: Int) -> Bool { cells[index].reduction }
}
