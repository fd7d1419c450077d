import DartsEngine
import Testing

@Suite("batch norm modes")
struct BatchNormModeTests {
    /// One channel holding 1, 2, 3, 4: mean 2.5, biased variance 1.25,
    /// unbiased variance 5/3.
    let input = Tensor<Double>(shape: [2, 1, 1, 2], scalars: [1, 2, 3, 4])

    @Test func trainingNormalisesWithBatchStatisticsAndUpdatesRunningOnes() {
        let stats = BatchNormStatistics<Double>(channels: 1)
        let tape = Tape<Double>()
        let y = tape.constant(input).batchNorm(statistics: stats, mode: .training)
        let s = 1 / (1.25 + 1e-5).squareRoot()
        for (value, x) in zip(y.value.scalars, input.scalars) { #expect(abs(value - (x - 2.5) * s) < 1e-12) }
        #expect(abs(stats.runningMean.scalars[0] - 0.25) < 1e-12)
        #expect(abs(stats.runningVariance.scalars[0] - (0.9 + 0.1 * 5.0 / 3.0)) < 1e-12)
        #expect(stats.batchesTracked == 1)
    }

    @Test func batchStatisticsModeLeavesRunningStatisticsAlone() {
        let stats = BatchNormStatistics<Double>(channels: 1)
        let tape = Tape<Double>()
        let y = tape.constant(input).batchNorm(statistics: stats, mode: .batchStatistics)
        let trainingStats = BatchNormStatistics<Double>(channels: 1)
        let reference = tape.constant(input).batchNorm(statistics: trainingStats, mode: .training)
        #expect(y.value == reference.value)
        #expect(stats.runningMean.scalars == [0])
        #expect(stats.runningVariance.scalars == [1])
        #expect(stats.batchesTracked == 0)
    }

    @Test func evaluationUsesRunningStatistics() {
        let stats = BatchNormStatistics<Double>(channels: 1)
        stats.runningMean = Tensor(shape: [1], scalars: [1])
        stats.runningVariance = Tensor(shape: [1], scalars: [4])
        let tape = Tape<Double>()
        let y = tape.constant(input).batchNorm(
            statistics: stats, mode: .evaluation,
            scale: tape.constant(Tensor(shape: [1], scalars: [2])), shift: tape.constant(Tensor(shape: [1], scalars: [0.5])))
        let s = 1 / (4 + 1e-5).squareRoot()
        for (value, x) in zip(y.value.scalars, input.scalars) { #expect(abs(value - (2 * (x - 1) * s + 0.5)) < 1e-12) }
        #expect(stats.runningMean.scalars == [1])
    }
}
