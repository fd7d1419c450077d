/// The result of a forward pass, with handles to the variables whose
/// gradients the search loop reads after backward.
public struct ForwardPass<Scalar: TensorScalar> {
    public let logits: Variable<Scalar>
    /// Leaf variables of the weights, by parameter name.
    public let weights: [String: Variable<Scalar>]
    /// Leaf variables of the α matrices, in ``ParameterStore/alphaNames`` order.
    public let alphas: [Variable<Scalar>]
    /// p_l for every cell: the cell's own copy of its mixing weights, so that
    /// `cellMixingWeights[l].grad` is Λ_l = ∂L/∂p_l after backward.
    public let cellMixingWeights: [Variable<Scalar>]
}

extension Supernet {
    /// Runs the network on a batch `[N, C, H, W]`, recording on `tape`.
    /// `generator` supplies drop-path masks and S4 noise; passes that must see
    /// the same randomness get generators in the same state.
    public func forward(
        _ input: Tensor<Scalar>, on tape: Tape<Scalar>,
        batchNormMode: BatchNormMode = .training,
        weightsRequireGradient: Bool = true, alphasRequireGradient: Bool = true,
        mixingOffsets: [Tensor<Scalar>?]? = nil, fixedMixingWeights: [Tensor<Scalar>]? = nil,
        dropPathProbability: Double = 0,
        generator: inout RandomGenerator
    ) -> ForwardPass<Scalar> {
        require(input.rank == 4 && input.shape[1] == shape.inputChannels,
                     "Supernet.forward: input shape \(input.shape) vs \(shape.inputChannels) input channels")
        if let mixingOffsets { require(mixingOffsets.count == cells.count, "Supernet.forward: \(mixingOffsets.count) mixing offsets for \(cells.count) cells") }
        let auxiliarySkip = fixedMixingWeights == nil && auxiliarySkipWeight != 0
            ? tape.constant(Tensor(repeating: Scalar(auxiliarySkipWeight), shape: [1])) : nil
        var pass = PassContext(tape: tape, store: parameters, batchNormMode: batchNormMode,
                               weightsRequireGradient: weightsRequireGradient,
                               dropPathProbability: batchNormMode == .evaluation ? 0 : dropPathProbability,
                               auxiliarySkip: auxiliarySkip)

        let alphas = parameters.alphaNames.map { tape.variable(parameters.alphas[$0]!, requiresGrad: alphasRequireGradient) }
        let mixing: [Variable<Scalar>]
        if let fixedMixingWeights {
            require(fixedMixingWeights.count == alphas.count, "Supernet.forward: \(fixedMixingWeights.count) fixed mixing matrices for \(alphas.count) α")
            mixing = fixedMixingWeights.map { tape.constant($0) }
        } else {
            mixing = alphas.map { $0.softmax() }
        }

        let stem = tape.constant(input)
            .conv2d(weight: pass.weight("stem.0.weight"), geometry: .init(kernelSize: 3, padding: 1))
            .batchNorm(statistics: pass.statistics("stem.1"), mode: batchNormMode,
                       scale: pass.weight("stem.1.weight"), shift: pass.weight("stem.1.bias"))
        var previousPrevious = stem, previous = stem
        var cellMixing: [Variable<Scalar>] = []
        for (index, cell) in cells.enumerated() {
            var p = mixing[cell.alphaIndex].copied()
            if let offset = mixingOffsets?[index] { p = p.adding(offset).retainGradient() }
            cellMixing.append(p)
            // Under fixed mixing weights an op weighted exactly 0 adds exactly
            // 0 to its node: it is left out, so a discrete network costs only
            // its chosen operations (the tabular benchmark trains hundreds).
            let inactive = fixedMixingWeights.map { fixed in { (term: Int) in fixed[cell.alphaIndex].scalars[term] == 0 } }
            let output = pass.cell(cell, previousPrevious, previous, mixing: p, skipping: inactive, generator: &generator)
            previousPrevious = previous
            previous = output
        }
        let logits = previous.globalAveragePool()
            .linear(weight: pass.weight("classifier.weight"), bias: pass.weight("classifier.bias"))
        return ForwardPass(logits: logits, weights: pass.weightVariables, alphas: alphas, cellMixingWeights: cellMixing)
    }
}

/// Per-pass state: leaf variables for the weights, created on first use.
private struct PassContext<Scalar: TensorScalar> {
    let tape: Tape<Scalar>
    let store: ParameterStore<Scalar>
    let batchNormMode: BatchNormMode
    let weightsRequireGradient: Bool
    let dropPathProbability: Double
    /// [β] of DARTS−'s auxiliary skip, or nil without one.
    let auxiliarySkip: Variable<Scalar>?
    var weightVariables: [String: Variable<Scalar>] = [:]

    init(tape: Tape<Scalar>, store: ParameterStore<Scalar>, batchNormMode: BatchNormMode, weightsRequireGradient: Bool,
         dropPathProbability: Double, auxiliarySkip: Variable<Scalar>?) {
        self.tape = tape
        self.store = store
        self.batchNormMode = batchNormMode
        self.weightsRequireGradient = weightsRequireGradient
        self.dropPathProbability = dropPathProbability
        self.auxiliarySkip = auxiliarySkip
    }

    mutating func weight(_ name: String) -> Variable<Scalar> {
        if let existing = weightVariables[name] { return existing }
        guard let value = store.weights[name] else { fatalError("Supernet: no weight named \(name)") }
        let variable = tape.variable(value, requiresGrad: weightsRequireGradient)
        weightVariables[name] = variable
        return variable
    }

    func statistics(_ prefix: String) -> BatchNormStatistics<Scalar> {
        guard let statistics = store.batchNorms[prefix] else { fatalError("Supernet: no batch norm named \(prefix)") }
        return statistics
    }

    func batchNorm(_ x: Variable<Scalar>, _ prefix: String) -> Variable<Scalar> {
        x.batchNorm(statistics: statistics(prefix), mode: batchNormMode)
    }

    mutating func cell(
        _ cell: CellLayout, _ s0: Variable<Scalar>, _ s1: Variable<Scalar>,
        mixing: Variable<Scalar>, skipping inactive: ((Int) -> Bool)?, generator: inout RandomGenerator
    ) -> Variable<Scalar> {
        var states = [preprocess(cell.preprocess0, s0), preprocess(cell.preprocess1, s1)]
        // ReLU(state), shared by every op that starts with one (the convolutions
        // and the factorized reduce) on every edge leaving that state.
        var rectifiedStates: [Variable<Scalar>?] = [nil, nil]
        func rectified(_ index: Int) -> Variable<Scalar> {
            if let done = rectifiedStates[index] { return done }
            let value = states[index].relu()
            rectifiedStates[index] = value
            return value
        }
        let width = mixing.shape[1]
        var edgeIndex = 0
        for edges in cell.nodes {
            // Without drop-path a node is one weighted sum over all its edges' ops.
            var terms: [Variable<Scalar>] = [], indices: [Int] = []
            var parts: [Variable<Scalar>] = []
            for edge in edges {
                let x = states[edge.input]
                var edgeTerms: [Variable<Scalar>] = [], edgeIndices: [Int] = []
                for (k, candidate) in edge.operations.enumerated()
                where candidate.operation != .none && inactive?(edgeIndex * width + k) != true {
                    edgeTerms.append(operation(candidate, x, rectified: { rectified(edge.input) }, stride: edge.stride, generator: &generator))
                    edgeIndices.append(edgeIndex * width + k)
                }
                if edgeTerms.isEmpty {
                    // An edge of only `none` contributes zeros of the strided shape.
                    parts.append(x.zeros(stride: edge.stride))
                } else if dropPathProbability > 0 {
                    parts.append(Variable.weightedSum(edgeTerms, indices: edgeIndices, of: mixing)
                        .droppingPath(probability: dropPathProbability, generator: &generator))
                } else {
                    terms += edgeTerms
                    indices += edgeIndices
                }
                // DARTS−: β·x beside the mixture, never dropped. Stride-2 edges
                // get none: a reducing skip would bring weights of its own.
                if let auxiliarySkip, edge.stride == 1 { parts.append(x.scaled(byElement: 0, of: auxiliarySkip)) }
                edgeIndex += 1
            }
            if !terms.isEmpty { parts.append(Variable.weightedSum(terms, indices: indices, of: mixing)) }
            states.append(parts.count == 1 ? parts[0] : Variable.sum(parts))
            rectifiedStates.append(nil)
        }
        return Variable.concatenateChannels(Array(states.dropFirst(2)))
    }

    mutating func preprocess(_ kind: Preprocess, _ x: Variable<Scalar>) -> Variable<Scalar> {
        switch kind {
        case .reluConvBN(let prefix):
            return batchNorm(x.relu().conv2d(weight: weight("\(prefix).op.1.weight"), geometry: .init(kernelSize: 1)), "\(prefix).op.2")
        case .factorizedReduce(let prefix):
            return factorizedReduce(rectified: x.relu(), prefix)
        }
    }

    /// FactorizedReduce on an already rectified input.
    mutating func factorizedReduce(rectified activated: Variable<Scalar>, _ prefix: String) -> Variable<Scalar> {
        let reduced = activated.factorizedReduce(first: weight("\(prefix).conv_1.weight"), second: weight("\(prefix).conv_2.weight"))
        return batchNorm(reduced, "\(prefix).bn")
    }

    /// One candidate op on an edge input `x`; `rectified` gives ReLU(x),
    /// computed once per state and shared.
    mutating func operation(
        _ candidate: EdgeOperation, _ x: Variable<Scalar>, rectified: () -> Variable<Scalar>, stride: Int,
        generator: inout RandomGenerator
    ) -> Variable<Scalar> {
        let prefix = candidate.prefix
        let channels = x.shape[1]
        switch candidate.operation {
        case .none:
            return x.zeros(stride: stride)
        case .noise:
            let outShape = [x.shape[0], channels, (x.shape[2] + stride - 1) / stride, (x.shape[3] + stride - 1) / stride]
            return tape.gaussianNoise(shape: outShape, generator: &generator)
        case .maxPool3x3:
            return batchNorm(x.maxPool(.init(stride: stride)), "\(prefix).1")
        case .avgPool3x3:
            return batchNorm(x.averagePool(.init(stride: stride)), "\(prefix).1")
        case .skipConnect:
            return stride == 1 ? x : factorizedReduce(rectified: rectified(), prefix)
        case .sepConv3x3, .sepConv5x5:
            let k = candidate.operation.kernelSize
            let first = separableHalf(x, rectified: rectified, prefix: prefix, depthwise: 1, pointwise: 2, bn: 3,
                                      geometry: .init(kernelSize: k, stride: stride, padding: k / 2, groups: channels))
            return separableHalf(first, rectified: first.relu, prefix: prefix, depthwise: 5, pointwise: 6, bn: 7,
                                 geometry: .init(kernelSize: k, padding: k / 2, groups: channels))
        case .dilConv3x3, .dilConv5x5:
            let k = candidate.operation.kernelSize
            return separableHalf(x, rectified: rectified, prefix: prefix, depthwise: 1, pointwise: 2, bn: 3,
                                 geometry: .init(kernelSize: k, stride: stride, padding: k - 1, dilation: 2, groups: channels))
        }
    }

    /// ReLU → depthwise conv → pointwise conv → BN, the building block of
    /// SepConv (twice) and DilConv (once). The depthwise kernel rectifies `x`
    /// itself where it can (``Variable/rectifiedConv2d(weight:geometry:)``);
    /// where it cannot (a tape that records or replays activation patterns)
    /// the op takes `rectified()`, ReLU(x) computed once and shared.
    mutating func separableHalf(
        _ x: Variable<Scalar>, rectified: () -> Variable<Scalar>, prefix: String, depthwise: Int, pointwise: Int, bn: Int,
        geometry: ConvolutionGeometry
    ) -> Variable<Scalar> {
        let depthwiseWeight = weight("\(prefix).op.\(depthwise).weight")
        let filtered = tape.tracksActivationPatterns
            ? rectified().conv2d(weight: depthwiseWeight, geometry: geometry)
            : x.rectifiedConv2d(weight: depthwiseWeight, geometry: geometry)
        let y = filtered.conv2d(weight: weight("\(prefix).op.\(pointwise).weight"), geometry: .init(kernelSize: 1))
        return batchNorm(y, "\(prefix).op.\(bn)")
    }
}
