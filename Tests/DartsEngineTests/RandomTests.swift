import DartsEngine
import Testing

@Suite("random numbers and initialisation")
struct RandomTests {
    @Test func sameSeedSameNumbers() {
        var a = RandomGenerator(seed: 1234), b = RandomGenerator(seed: 1234), c = RandomGenerator(seed: 1235)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in c.next() })
    }

    @Test func stateRoundTripsThroughCodable() throws {
        var generator = RandomGenerator(seed: 9)
        _ = generator.nextStandardNormal()  // leaves a spare normal behind
        let data = try JSONEncoder().encode(generator)
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: data)
        #expect((0..<10).map { _ in restored.nextStandardNormal() } == (0..<10).map { _ in generator.nextStandardNormal() })
    }

    @Test func normalDrawsHaveUnitMoments() {
        var generator = RandomGenerator(seed: 3)
        let draws = (0..<200_000).map { _ in generator.nextStandardNormal() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.01)
    }

    @Test func kaimingUniformMatchesPyTorchBound() {
        var generator = RandomGenerator(seed: 5)
        // Conv2d(16, 32, 3): fan_in = 144, bound = 1/12.
        let weight: Tensor<Float> = Initialiser.kaimingUniform(shape: [32, 16, 3, 3], generator: &generator)
        let largest = weight.scalars.map { abs($0) }.max()!
        #expect(largest <= 1.0 / 12 && largest > 0.95 / 12)
        #expect(Initialiser.fanIn(of: [10, 64]) == 64)
        let bias: Tensor<Float> = Initialiser.bias(count: 10, weightShape: [10, 64], generator: &generator)
        #expect(bias.scalars.allSatisfy { abs($0) <= 0.125 })
    }

    @Test func noiseComesFromTheGivenGenerator() {
        let tape = Tape<Float>()
        var a = RandomGenerator(seed: 11), b = RandomGenerator(seed: 11)
        let first = tape.gaussianNoise(shape: [2, 3], generator: &a)
        let second = tape.gaussianNoise(shape: [2, 3], generator: &b)
        #expect(first.value == second.value)
        #expect(!first.requiresGrad)
    }
}

import Foundation
