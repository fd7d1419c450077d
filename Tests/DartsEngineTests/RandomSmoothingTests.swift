import Foundation
import Testing
@testable import DartsEngine

/// SDARTS-RS: the perturbed mixing weights, the radius schedule, and the
/// engine restoring α after the weight step.
@Suite("SDARTS-RS random smoothing")
struct RandomSmoothingTests {
    static func softmaxRows(_ alphas: Tensor<Float>) -> [[Double]] {
        (0..<alphas.shape[0]).map { row in
            let logits = (0..<alphas.shape[1]).map { Double(alphas.scalars[row * alphas.shape[1] + $0]) }
            let exponentials = logits.map { exp($0 - logits.max()!) }
            return exponentials.map { $0 / exponentials.reduce(0, +) }
        }
    }

    static func alphas(rows: Int, columns: Int, seed: UInt64) -> Tensor<Float> {
        var generator = RandomGenerator(seed: seed)
        return Initialiser.normal(shape: [rows, columns], standardDeviation: 1, generator: &generator)
    }

    @Test func perturbedRowsAreDistributionsWithinTheRadius() {
        let original = Self.alphas(rows: 14, columns: 3, seed: 2)
        var perturbed = original
        var generator = RandomGenerator(seed: 9)
        let epsilon = 0.01
        RandomSmoothing.perturb(&perturbed, radius: epsilon, generator: &generator)
        let before = Self.softmaxRows(original), after = Self.softmaxRows(perturbed)
        var moved = 0.0
        for (p, q) in zip(before, after) {
            #expect(abs(q.reduce(0, +) - 1) < 1e-6 && q.allSatisfy { $0 >= 0 })
            // Noise ≤ ε per entry, renormalised by a mass within 1 ± 3ε.
            for (a, b) in zip(p, q) {
                #expect(abs(a - b) <= epsilon * (1 + 3) / (1 - 3 * epsilon) + 1e-6)
                moved = max(moved, abs(a - b))
            }
        }
        #expect(moved > epsilon / 10, "the noise moved something")
    }

    @Test func aRowWhoseMassIsClippedAwayFallsBackToItsArgmax() {
        // Four near-uniform weights of 0.25 and ε = 1: a row can lose all its
        // mass; whatever happens, the result is a distribution.
        var generator = RandomGenerator(seed: 1)
        for _ in 0..<200 {
            var alphas = Tensor<Float>(zeros: [1, 4])
            alphas.scalars[2] = 1e-3
            RandomSmoothing.perturb(&alphas, radius: 1, generator: &generator)
            let q = Self.softmaxRows(alphas)[0]
            #expect(abs(q.reduce(0, +) - 1) < 1e-6 && q.allSatisfy { $0.isFinite && $0 >= 0 })
        }
    }

    @Test func theRadiusRampsFromATenthToItsValue() throws {
        var config = EngineFixture.config(epochs: 3)
        config.sdartsEpsilon = 0.3
        let (engine, _) = try EngineFixture.engine(config)
        let radii = EngineFixture.valuePerEpoch(running: engine) { RandomSmoothing().radius($0) }
        #expect(zip(radii, [0.03, 0.165, 0.3]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(radii)")
        config.sdartsEpsilon = 0
        let (off, _) = try EngineFixture.engine(config)
        #expect(RandomSmoothing().radius(off) == 0)
    }

    @Test func theSearchsAlphaIsRestoredAndRunsAreReproducible() throws {
        let config = EngineFixture.config(epochs: 1)
        var smoothed = config
        smoothed.sdartsEpsilon = 0.5
        let (plain, _) = try EngineFixture.engine(config)
        let (first, recordFirst) = try EngineFixture.engine(smoothed)
        let (second, recordSecond) = try EngineFixture.engine(smoothed)
        plain.runStep()
        first.runStep()
        second.runStep()
        // The architecture step comes before the weight step: one step in, α is plain's.
        #expect(first.supernet.parameters.alphas == plain.supernet.parameters.alphas)
        #expect(first.supernet.parameters.weights != plain.supernet.parameters.weights)
        for _ in 0..<4 { first.runStep(); second.runStep() }
        #expect(recordFirst.comparable() == recordSecond.comparable(), "\(firstDifference(recordFirst.comparable(), recordSecond.comparable()))")
    }
}
