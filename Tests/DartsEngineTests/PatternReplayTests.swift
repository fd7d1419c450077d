import DartsEngine
import Testing

/// Central differences of gradients with a frozen activation pattern are exact
/// Hessian-vector products up to O(h²); plain ones cross ReLU and max-pool
/// kinks and are wrong (DESIGN §5).
@Suite("activation-pattern replay")
struct PatternReplayTests {
    /// A small ReLU/max-pool network whose activations downstream of the
    /// mixing weights move with α: x → conv → BN → Σ_k softmax(α)_k·op_k →
    /// conv → ReLU → max-pool → pool → linear → cross-entropy.
    struct Network {
        var input: Tensor<Double>
        var labels: [Int]
        var firstWeight: Tensor<Double>
        var secondWeight: Tensor<Double>
        var classifier: Tensor<Double>

        init() {
            var data = TestData(seed: 99)
            input = data.normal([4, 3, 10, 10])
            labels = [0, 1, 2, 1]
            firstWeight = data.normal([8, 3, 3, 3], scale: 0.3)
            secondWeight = data.normal([8, 8, 3, 3], scale: 0.2)
            classifier = data.normal([3, 8])
        }

        /// ∇α L at `alpha` under the given pattern mode.
        func alphaGradient(_ alpha: Tensor<Double>, patternMode: PatternMode) -> Tensor<Double> {
            let tape = Tape<Double>(patternMode: patternMode)
            let a = tape.variable(alpha, requiresGrad: true)
            let p = a.softmax()
            let statistics = BatchNormStatistics<Double>(channels: 8)
            let y = tape.constant(input).conv2d(weight: tape.constant(firstWeight), geometry: .init(kernelSize: 3, padding: 1))
                .batchNorm(statistics: statistics, mode: .batchStatistics)
            let mixed = Variable.sum([
                y.relu().scaled(byElement: 0, of: p),
                y.maxPool(.init(stride: 1)).scaled(byElement: 1, of: p),
                y.averagePool(.init(stride: 1)).scaled(byElement: 2, of: p),
            ])
            let logits = mixed.conv2d(weight: tape.constant(secondWeight), geometry: .init(kernelSize: 3, padding: 1))
                .relu().maxPool(.init(stride: 2)).globalAveragePool()
                .linear(weight: tape.constant(classifier), bias: nil)
            tape.backward(from: logits.crossEntropy(labels: labels))
            return a.grad!
        }

        /// (∇L(α + h·v) − ∇L(α − h·v)) / 2h, with the pattern frozen at α or not.
        func hessianVectorProduct(alpha: Tensor<Double>, direction: Tensor<Double>, step: Double, frozen: Bool) -> Tensor<Double> {
            let patterns = ActivationPatterns()
            if frozen { _ = alphaGradient(alpha, patternMode: .record(patterns)) }
            func gradient(at sign: Double) -> Tensor<Double> {
                var shifted = alpha
                shifted.add(direction, scaledBy: sign * step)
                return alphaGradient(shifted, patternMode: frozen ? .replay(patterns) : .free)
            }
            var result = gradient(at: 1)
            result.add(gradient(at: -1), scaledBy: -1)
            result.scale(by: 1 / (2 * step))
            return result
        }
    }

    func relativeError(_ estimate: Tensor<Double>, _ reference: Tensor<Double>) -> Double {
        var difference = estimate
        difference.add(reference, scaledBy: -1)
        return (difference.squaredNorm / reference.squaredNorm).squareRoot()
    }

    @Test func frozenDifferencesConvergeQuadraticallyPlainOnesDoNot() {
        let network = Network()
        var data = TestData(seed: 5)
        let alpha = data.normal([1, 3], scale: 0.5)
        let direction = data.normal([1, 3])
        let reference = network.hessianVectorProduct(alpha: alpha, direction: direction, step: 1e-5, frozen: true)

        let steps = [1e-1, 1e-2, 1e-3]
        let frozen = steps.map { relativeError(network.hessianVectorProduct(alpha: alpha, direction: direction, step: $0, frozen: true), reference) }
        let plain = steps.map { relativeError(network.hessianVectorProduct(alpha: alpha, direction: direction, step: $0, frozen: false), reference) }

        // O(h²): each tenfold smaller step cuts the error about a hundredfold.
        #expect(frozen[0] / frozen[1] > 50, "frozen errors \(frozen)")
        #expect(frozen[1] / frozen[2] > 50, "frozen errors \(frozen)")
        #expect(frozen[2] < 1e-6, "frozen errors \(frozen)")
        // Plain differences cross kinks: far off, and not improving like h².
        #expect(plain[1] > 1e-2 && plain[2] > 1e-2, "plain errors \(plain)")
        #expect(plain[1] > 1000 * frozen[1], "plain \(plain) vs frozen \(frozen)")
    }

    @Test func replayReproducesTheBasePassExactly() {
        let network = Network()
        let alpha = Tensor<Double>(shape: [1, 3], scalars: [0.1, -0.2, 0.3])
        let patterns = ActivationPatterns()
        let recorded = network.alphaGradient(alpha, patternMode: .record(patterns))
        #expect(patterns.count == 4)  // two ReLUs, two max-pools
        #expect(network.alphaGradient(alpha, patternMode: .replay(patterns)) == recorded)
        #expect(network.alphaGradient(alpha, patternMode: .free) == recorded)
    }
}
