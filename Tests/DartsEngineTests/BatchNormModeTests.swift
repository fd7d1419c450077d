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

    /// Float batch statistics of planes whose means differ from each other
    /// and sit far from zero (per-plane moments combined per channel) against
    /// the two-pass definition in Double.
    @Test func floatStatisticsMatchTheDefinition() {
        var data = TestData(seed: 9)
        var input = data.normal([6, 3, 5, 7])
        for i in input.scalars.indices { input.scalars[i] += 300 + Double(i / 35 % 5) * 20 }  // plane offsets
        let stats = BatchNormStatistics<Float>(channels: 3)
        _ = Tape<Float>().constant(Tensor<Float>(input)).batchNorm(statistics: stats, mode: .training)
        let floatInput = input.scalars.map { Double(Float($0)) }
        for c in 0..<3 {
            var values: [Double] = []
            for n in 0..<6 {
                let start = (n * 3 + c) * 35
                values += floatInput[start..<(start + 35)]
            }
            let mean: Double = values.reduce(0, +) / Double(values.count)
            let squares: Double = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
            let unbiased = squares / Double(values.count - 1)
            let runningMean = Double(stats.runningMean.scalars[c]), runningVariance = Double(stats.runningVariance.scalars[c])
            #expect(abs(runningMean - 0.1 * mean) < 1e-6 * mean)
            #expect(abs(runningVariance - (0.9 + 0.1 * unbiased)) < 1e-4 * unbiased)
        }
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
