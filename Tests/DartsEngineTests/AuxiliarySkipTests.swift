import Foundation
import Testing
@testable import DartsEngine

/// DARTS−'s auxiliary skip: what the supernet computes with it, its gradients,
/// its schedule, and that a discrete network never sees it.
@Suite("DARTS− auxiliary skip")
struct AuxiliarySkipTests {
    static func network(space: SearchSpace = .s3, seed: UInt64 = 11) -> (Supernet<Double>, Tensor<Double>) {
        var generator = RandomGenerator(seed: seed)
        let net = Supernet<Double>(space: space, shape: .init(inputChannels: 2, imageSize: 6, classes: 3, initialChannels: 2, layers: 3), generator: &generator)
        for name in net.parameters.alphaNames {
            net.parameters.alphas[name] = Initialiser.normal(shape: net.parameters.alphas[name]!.shape, standardDeviation: 0.5, generator: &generator)
        }
        return (net, Initialiser.normal(shape: [3, 2, 6, 6], standardDeviation: 1, generator: &generator))
    }

    static func logits(_ net: Supernet<Double>, _ input: Tensor<Double>, offsets: [Tensor<Double>?]? = nil,
                       fixed: [Tensor<Double>]? = nil) -> Tensor<Double> {
        var noise = RandomGenerator(seed: 0)
        return net.forward(input, on: Tape<Double>(), batchNormMode: .batchStatistics, mixingOffsets: offsets,
                           fixedMixingWeights: fixed, generator: &noise).logits.value
    }

    /// On a stride-1 edge skip_connect is the identity, so β·x beside the
    /// mixture is the same network as the skip's mixing weight raised by β:
    /// an independent computation through the Λ-DARTS offsets.
    @Test(arguments: [SearchSpace.s3, SearchSpace.named("tiny-s3")!])
    func theAuxiliarySkipEqualsRaisingTheSkipWeightOnStrideOneEdges(_ space: SearchSpace) {
        let (net, input) = Self.network(space: space)
        let beta = 0.7
        let offsets: [Tensor<Double>?] = net.cells.map { cell in
            let edges = cell.nodes.flatMap { $0 }
            let width = edges[0].operations.count
            var offset = Tensor<Double>(zeros: [edges.count, width])
            for (row, edge) in edges.enumerated() where edge.stride == 1 {
                let skip = edge.operations.firstIndex { $0.operation == .skipConnect }!
                offset.scalars[row * width + skip] = beta
            }
            return offset
        }
        let raised = Self.logits(net, input, offsets: offsets)
        let plain = Self.logits(net, input)
        net.auxiliarySkipWeight = beta
        let auxiliary = Self.logits(net, input)
        #expect(zip(auxiliary.scalars, raised.scalars).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(auxiliary.scalars, plain.scalars).contains { abs($0 - $1) > 1e-3 }, "β = 0.7 changes the network")
    }

    @Test func aDiscreteNetworkIgnoresTheAuxiliarySkip() {
        let (net, input) = Self.network()
        let fixed = net.parameters.alphaNames.map { name -> Tensor<Double> in
            var oneHot = Tensor<Double>(zeros: net.parameters.alphas[name]!.shape)
            for row in 0..<oneHot.shape[0] { oneHot.scalars[row * oneHot.shape[1] + row % oneHot.shape[1]] = 1 }
            return oneHot
        }
        let without = Self.logits(net, input, fixed: fixed)
        net.auxiliarySkipWeight = 2
        #expect(Self.logits(net, input, fixed: fixed) == without)
    }

    /// α and weight gradients with β > 0 against central differences.
    @Test func gradientsWithTheAuxiliarySkipMatchFiniteDifferences() {
        let (net, input) = Self.network(space: .named("tiny-s3")!)
        net.auxiliarySkipWeight = 0.6
        let labels = [0, 2, 1]
        func loss(keepGradients: Bool) -> (Double, ForwardPass<Double>) {
            let tape = Tape<Double>()
            var noise = RandomGenerator(seed: 0)
            let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, generator: &noise)
            let value = pass.logits.crossEntropy(labels: labels)
            if keepGradients { tape.backward(from: value) }
            return (value.value.scalars[0], pass)
        }
        let (_, base) = loss(keepGradients: true)
        let step = 1e-6
        var worst = 0.0
        func check(_ analytic: Double, _ perturb: (Double) -> Void) {
            perturb(step)
            let plus = loss(keepGradients: false).0
            perturb(-2 * step)
            let minus = loss(keepGradients: false).0
            perturb(step)
            let numeric = (plus - minus) / (2 * step)
            worst = max(worst, abs(analytic - numeric) / max(abs(numeric), 1e-3))
        }
        for (index, name) in net.parameters.alphaNames.enumerated() {
            let gradient = base.alphas[index].grad!
            for i in 0..<gradient.count { check(gradient.scalars[i]) { net.parameters.alphas[name]!.scalars[i] += $0 } }
        }
        // The weights feeding the skip's input: the first cell's preprocessing.
        for name in net.parameters.weightNames where name.hasPrefix("cells.0.preprocess1") || name.hasPrefix("stem") {
            let gradient = base.weights[name]!.grad!
            for i in 0..<min(gradient.count, 6) { check(gradient.scalars[i]) { net.parameters.weights[name]!.scalars[i] += $0 } }
        }
        #expect(worst < 1e-5, "worst relative error \(worst)")
    }

    @Test func betaDecaysLinearlyToZeroAtTheLastEpoch() throws {
        var config = EngineFixture.config(epochs: 3)
        config.auxiliarySkipBeta = 1
        let (engine, _) = try EngineFixture.engine(config)
        let seen = EngineFixture.valuePerEpoch(running: engine, afterFirstStep: true) { $0.supernet.auxiliarySkipWeight }
        #expect(seen == [1, 0.5, 0])
    }

    @Test func turningItOnChangesTheSearch() throws {
        let config = EngineFixture.config(epochs: 2)
        var on = config
        on.auxiliarySkipBeta = 1
        let (plain, recordPlain) = try EngineFixture.engine(config)
        let (auxiliary, recordAuxiliary) = try EngineFixture.engine(on)
        for _ in 0..<3 { plain.runStep(); auxiliary.runStep() }
        #expect(plain.supernet.auxiliarySkipWeight == 0 && auxiliary.supernet.auxiliarySkipWeight == 1)
        #expect(recordPlain.comparable(types: ["step"]) != recordAuxiliary.comparable(types: ["step"]))
    }
}
