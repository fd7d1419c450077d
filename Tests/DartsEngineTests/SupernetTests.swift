import DartsEngine
import Testing

@Suite("supernet")
struct SupernetTests {
    static let spaces = SearchSpace.all.map(\.name)

    @Test(arguments: spaces)
    func logitsHaveTheRightShapeForGreyAndColourImages(_ spaceName: String) {
        let space = SearchSpace.named(spaceName)!
        for (channels, size) in [(1, 28), (3, 32)] {
            var generator = RandomGenerator(seed: 1)
            let net = Supernet<Float>(space: space, shape: .init(inputChannels: channels, imageSize: size, classes: 10, initialChannels: 4, layers: 5), generator: &generator)
            let tape = Tape<Float>()
            let input: Tensor<Float> = Initialiser.normal(shape: [2, channels, size, size], standardDeviation: 1, generator: &generator)
            let pass = net.forward(input, on: tape, generator: &generator)
            #expect(pass.logits.shape == [2, 10])
            #expect(pass.cellMixingWeights.count == 5)
            #expect(pass.logits.value.scalars.allSatisfy { $0.isFinite })
        }
    }

    @Test func reductionCellsSitAtOneAndTwoThirds() {
        var generator = RandomGenerator(seed: 1)
        let net = Supernet<Float>(space: .darts, shape: .init(inputChannels: 3, imageSize: 32, classes: 10, initialChannels: 16, layers: 8), generator: &generator)
        #expect((0..<8).filter { net.isReduction(cell: $0) } == [2, 5])
        #expect((0..<8).map { net.alphaIndex(ofCell: $0) } == [0, 0, 1, 0, 0, 1, 0, 0])
    }

    @Test func stateDictNamesFollowTheReferenceNetwork() {
        var generator = RandomGenerator(seed: 1)
        let net = Supernet<Float>(space: .darts, shape: .init(inputChannels: 1, imageSize: 28, classes: 10, initialChannels: 8, layers: 5), generator: &generator)
        let shapes = Dictionary(uniqueKeysWithValues: net.parameters.stateDictShapes.map { ($0.name, $0.shape) })
        #expect(shapes["stem.0.weight"] == [24, 1, 3, 3])
        #expect(shapes["stem.1.num_batches_tracked"] == [])
        #expect(shapes["cells.0.preprocess0.op.1.weight"] == [8, 24, 1, 1])
        #expect(shapes["cells.2.preprocess0.conv_1.weight"] == [8, 32, 1, 1])  // after reduction cell 1
        #expect(shapes["cells.1._ops.0._ops.3.conv_2.weight"] == [8, 16, 1, 1])  // skip_connect, stride 2
        #expect(shapes["cells.0._ops.5._ops.4.op.5.weight"] == [8, 1, 3, 3])
        #expect(shapes["cells.0._ops.13._ops.7.op.1.weight"] == [8, 1, 5, 5])
        #expect(shapes["cells.0._ops.0._ops.1.1.running_var"] == [8])  // max_pool's BN
        #expect(shapes["classifier.weight"] == [10, 128])
        #expect(shapes["alphas_normal"] == [14, 8])
        #expect(shapes["alphas_reduce"] == [14, 8])
    }

    /// The whole supernet's α and weight gradients against finite differences,
    /// in Double, on a tiny network. The ± passes replay the base pass's
    /// activation pattern so that a step never straddles a ReLU or max-pool kink.
    @Test(arguments: [("darts", AlphaLayout.shared), ("s1", .shared), ("tiny", .shared), ("s1", .perLayer), ("tiny", .perLayer)])
    func gradientsMatchFiniteDifferences(_ spaceName: String, _ layout: AlphaLayout) {
        let space = SearchSpace.named(spaceName)!
        var generator = RandomGenerator(seed: 3)
        let net = Supernet<Double>(space: space, shape: .init(inputChannels: 2, imageSize: 6, classes: 3, initialChannels: 2, layers: 3),
                                   alphas: layout, generator: &generator)
        for name in net.parameters.alphaNames {
            net.parameters.alphas[name] = Initialiser.normal(shape: net.parameters.alphas[name]!.shape, standardDeviation: 0.5, generator: &generator)
        }
        let input: Tensor<Double> = Initialiser.normal(shape: [3, 2, 6, 6], standardDeviation: 1, generator: &generator)
        let labels = [0, 2, 1]
        let patterns = ActivationPatterns()

        func loss(_ mode: PatternMode, keepGradients: Bool) -> (Double, ForwardPass<Double>) {
            let tape = Tape<Double>(patternMode: mode)
            var noise = RandomGenerator(seed: 0)
            let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, generator: &noise)
            let value = pass.logits.crossEntropy(labels: labels)
            if keepGradients { tape.backward(from: value) }
            return (value.value.scalars[0], pass)
        }
        let (_, base) = loss(.record(patterns), keepGradients: true)

        let step = 1e-6
        var worst = 0.0
        var checked = 0
        func check(_ analytic: Double, _ perturb: (Double) -> Void) {
            perturb(step)
            let plus = loss(.replay(patterns), keepGradients: false).0
            perturb(-2 * step)
            let minus = loss(.replay(patterns), keepGradients: false).0
            perturb(step)
            let numeric = (plus - minus) / (2 * step)
            worst = max(worst, abs(analytic - numeric) / max(abs(numeric), 1e-3))
            checked += 1
        }
        var sampler = RandomGenerator(seed: 4)
        for (index, name) in net.parameters.alphaNames.enumerated() {
            let gradient = base.alphas[index].grad!
            for _ in 0..<24 {
                let i = Int(sampler.nextUInt32()) % gradient.count
                check(gradient.scalars[i]) { net.parameters.alphas[name]!.scalars[i] += $0 }
            }
        }
        for name in net.parameters.weightNames {
            let gradient = base.weights[name]!.grad!
            for _ in 0..<2 {
                let i = Int(sampler.nextUInt32()) % gradient.count
                check(gradient.scalars[i]) { net.parameters.weights[name]!.scalars[i] += $0 }
            }
        }
        #expect(checked > 60)
        #expect(worst < 1e-5, "worst relative error \(worst) over \(checked) coordinates")
    }

    @Test func perCellGradientsSumToTheSharedMixingWeightGradient() {
        var generator = RandomGenerator(seed: 8)
        let net = Supernet<Double>(space: .s3, shape: .init(inputChannels: 1, imageSize: 8, classes: 4, initialChannels: 2, layers: 4), generator: &generator)
        let input: Tensor<Double> = Initialiser.normal(shape: [2, 1, 8, 8], standardDeviation: 1, generator: &generator)
        let tape = Tape<Double>()
        let pass = net.forward(input, on: tape, generator: &generator)
        tape.backward(from: pass.logits.crossEntropy(labels: [1, 3]))
        // ∂L/∂α = J_softmaxᵀ Σ_l Λ_l over the cells of each type.
        for alphaIndex in 0..<2 {
            var total = Tensor<Double>(zeros: [14, 3])
            for cell in 0..<4 where net.alphaIndex(ofCell: cell) == alphaIndex { total.add(pass.cellMixingWeights[cell].grad!) }
            let p = Tape<Double>().constant(net.parameters.alphas[alphaIndex == 0 ? "alphas_normal" : "alphas_reduce"]!).softmax().value
            for e in 0..<14 {
                let inner = (0..<3).reduce(0.0) { $0 + total.scalars[e * 3 + $1] * p.scalars[e * 3 + $1] }
                for k in 0..<3 {
                    let expected = p.scalars[e * 3 + k] * (total.scalars[e * 3 + k] - inner)
                    #expect(abs(pass.alphas[alphaIndex].grad!.scalars[e * 3 + k] - expected) < 1e-12)
                }
            }
        }
    }

    /// Per-layer α: one matrix per cell under its state-dict name; with every
    /// cell's α set to its type's shared α the network is DARTS's, output for
    /// output, and the per-layer gradients of a type sum to the shared one.
    @Test(arguments: ["s3", "tiny"])
    func perLayerAlphasEqualToTheSharedOnesGiveTheSharedNetwork(_ spaceName: String) {
        let space = SearchSpace.named(spaceName)!
        let shape = NetworkShape(inputChannels: 1, imageSize: 8, classes: 4, initialChannels: 2, layers: 5)
        var sharedGenerator = RandomGenerator(seed: 11), layerGenerator = RandomGenerator(seed: 11)
        let shared = Supernet<Double>(space: space, shape: shape, generator: &sharedGenerator)
        let layered = Supernet<Double>(space: space, shape: shape, alphas: .perLayer, generator: &layerGenerator)
        #expect(layered.parameters.alphaNames == (0..<5).map { "cells.\($0).alphas" })
        #expect(layered.parameters.weights == shared.parameters.weights, "the weights are drawn before α, alike in both layouts")
        var noise = RandomGenerator(seed: 12)
        for name in shared.parameters.alphaNames {
            shared.parameters.alphas[name] = Initialiser.normal(shape: shared.parameters.alphas[name]!.shape, standardDeviation: 0.7, generator: &noise)
        }
        for cell in 0..<5 {
            layered.parameters.alphas["cells.\(cell).alphas"] = shared.parameters.alphas[shared.parameters.alphaNames[shared.alphaIndex(ofCell: cell)]]!
            #expect(layered.typeIndex(ofCell: cell) == shared.alphaIndex(ofCell: cell))
        }
        let input: Tensor<Double> = Initialiser.normal(shape: [3, 1, 8, 8], standardDeviation: 1, generator: &noise)
        func run(_ net: Supernet<Double>) -> ForwardPass<Double> {
            let tape = Tape<Double>()
            var generator = RandomGenerator(seed: 0)
            let pass = net.forward(input, on: tape, generator: &generator)
            tape.backward(from: pass.logits.crossEntropy(labels: [0, 3, 1]))
            return pass
        }
        let a = run(shared), b = run(layered)
        #expect(a.logits.value == b.logits.value)
        #expect(layered.genotype() == shared.genotype(), "equal layers: the mean weights are the shared ones")
        for (typeIndex, cells) in layered.cellsByType.enumerated() where !cells.isEmpty {
            var total = Tensor<Double>(zeros: a.alphas[typeIndex].shape)
            for cell in cells { total.add(b.alphas[cell].grad!) }
            let difference = zip(total.scalars, a.alphas[typeIndex].grad!.scalars).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-12, "type \(typeIndex): per-layer gradients sum to the shared one (max difference \(difference))")
        }
        // Each cell's α-gradient is its own contribution, p ⊙ (Λ − ⟨Λ, p⟩).
        for cell in 0..<5 {
            let expected = layered.alphaGradientContribution(ofCell: cell, layerGradient: Tensor(shape: b.cellMixingWeights[cell].grad!.shape,
                                                                                          scalars: b.cellMixingWeights[cell].grad!.scalars.map { Float($0) }))
            let got = b.alphas[cell].grad!
            let width = got.shape[1]
            let difference = expected.indices.flatMap { e in (0..<width).map { abs(expected[e][$0] - got.scalars[e * width + $0]) } }.max()!
            #expect(difference < 1e-6, "cell \(cell): \(difference)")
        }
    }

    /// The per-type view of per-layer α is the mean of the cells' softmax, and
    /// each cell derives its own genotype from its own α.
    @Test func perLayerTypeWeightsAreTheMeanOverTheTypesCells() {
        var generator = RandomGenerator(seed: 5)
        let net = Supernet<Double>(space: .s3, shape: .init(inputChannels: 1, imageSize: 8, classes: 4, initialChannels: 2, layers: 4),
                                   alphas: .perLayer, generator: &generator)
        for name in net.parameters.alphaNames {
            net.parameters.alphas[name] = Initialiser.normal(shape: [14, 3], standardDeviation: 2, generator: &generator)
        }
        let layers = net.mixingWeights(), types = net.typeMixingWeights()
        #expect(net.cellsByType == [[0, 3], [1, 2]])
        for (type, cells) in [[0, 3], [1, 2]].enumerated() {
            for e in 0..<14 {
                for k in 0..<3 {
                    #expect(abs(types[type][e][k] - cells.map { layers[$0][e][k] }.reduce(0, +) / 2) < 1e-15)
                }
            }
        }
        let own = net.layerGenotypes()!
        for cell in 0..<4 {
            #expect(own[cell] == Genotype.derive(weights: layers[cell], operations: SearchSpace.s3.operations(reduction: net.isReduction(cell: cell)),
                                                 topology: .darts))
        }
        let discrete: [Tensor<Double>] = net.discreteMixingWeights()
        #expect(discrete.count == 4)
        #expect(discrete.allSatisfy { $0.scalars.reduce(0, +) == 8 }, "two kept edges for each of four nodes")
    }
}
