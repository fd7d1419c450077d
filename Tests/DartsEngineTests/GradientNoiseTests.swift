import Foundation
import Testing
@testable import DartsEngine

/// The gradient-noise control: the noise's relative norm, its ramp, and that
/// off means plain DARTS bit for bit.
@Suite("gradient-noise control")
struct GradientNoiseTests {
    static func gradients(seed: UInt64) -> [String: Tensor<Float>] {
        var generator = RandomGenerator(seed: seed)
        return ["a": Initialiser.normal(shape: [7, 5], standardDeviation: 1, generator: &generator),
                "b": Initialiser.normal(shape: [11], standardDeviation: 0.1, generator: &generator)]
    }

    static func norm(_ tensors: [String: Tensor<Float>]) -> Double {
        tensors.values.reduce(0.0) { $0 + $1.squaredNorm }.squareRoot()
    }

    @Test func theNoiseHasTheRequestedNormRelativeToTheGradient() {
        let original = Self.gradients(seed: 3)
        var noisy = original
        var generator = RandomGenerator(seed: 5)
        GradientNoise.addNoise(to: &noisy, relativeNorm: 2.5, generator: &generator)
        let difference = original.keys.reduce(0.0) { total, name in
            zip(noisy[name]!.scalars, original[name]!.scalars).reduce(total) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        }.squareRoot()
        #expect(abs(difference / Self.norm(original) - 2.5) < 1e-4, "\(difference / Self.norm(original))")
        // Every parameter tensor is perturbed, not only the first.
        for name in original.keys { #expect(noisy[name]! != original[name]!) }
    }

    @Test func aZeroGradientIsLeftAlone() {
        var zero: [String: Tensor<Float>] = ["a": Tensor<Float>(zeros: [4, 3])]
        var generator = RandomGenerator(seed: 1)
        var untouched = generator
        GradientNoise.addNoise(to: &zero, relativeNorm: 1, generator: &generator)
        #expect(zero["a"]! == Tensor<Float>(zeros: [4, 3]))
        #expect(generator.next() == untouched.next(), "nothing was drawn")
    }

    @Test func theNoiseRampsFromZeroAndOffIsPlainDarts() throws {
        var config = EngineFixture.config(epochs: 3)
        config.gradientNoise = 4
        let (ramped, _) = try EngineFixture.engine(config)
        let norms = EngineFixture.valuePerEpoch(running: ramped) { GradientNoise().relativeNorm($0) }
        #expect(norms == [0, 2, 4], "\(norms)")

        // While the ramped norm is 0 (the first epoch) nothing is drawn: the
        // run is plain DARTS bit for bit; from the second epoch on it is not.
        var noisy = EngineFixture.config(epochs: 2)
        noisy.gradientNoise = 4
        let plainConfig = EngineFixture.config(epochs: 2)
        let (plain, plainRecord) = try EngineFixture.engine(plainConfig)
        let (withNoise, noisyRecord) = try EngineFixture.engine(noisy)
        while plain.epoch == 0 { plain.runStep(); withNoise.runStep() }
        #expect(plain.supernet.parameters.weights == withNoise.supernet.parameters.weights)
        #expect(plainRecord.comparable() == noisyRecord.comparable())
        plain.runStep()
        withNoise.runStep()
        #expect(plain.supernet.parameters.weights != withNoise.supernet.parameters.weights, "the second epoch adds noise")
    }
}
