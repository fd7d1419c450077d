import Testing
@testable import DartsEngine

/// The engine's parallel loops cut work by shape, never by thread count, so
/// two threads must give exactly the bits of one (DESIGN §8: same config and
/// seed → same run).
@Suite("parallel loops", .serialized)
struct ParallelismTests {
    /// Runs `body` with 1 and then 2 threads and returns both results, after
    /// checking that the helper thread really took part: a pool that quietly
    /// ran everything on the calling thread would pass any bit-identity test.
    /// (While other tests keep both cores busy the helper can wake too late
    /// for every chunk of a small loop, so the two-thread run is repeated,
    /// for up to five seconds, until it has taken one.)
    func withOneAndTwoThreads<T>(expectingHelpers: Bool = true, _ body: () -> T, sourceLocation: SourceLocation = #_sourceLocation) -> (T, T) {
        defer { setThreadCount(1) }
        setThreadCount(1)
        let serial = body()
        setThreadCount(2)
        let before = Parallelism.chunkCounts.byHelpers
        var parallel = body()
        guard expectingHelpers else { return (serial, parallel) }
        let deadline = ContinuousClock.now + .seconds(5)
        while Parallelism.chunkCounts.byHelpers == before && ContinuousClock.now < deadline {
            setThreadCount(2)  // a test running beside this one may have set the process's count
            parallel = body()
        }
        #expect(Parallelism.chunkCounts.byHelpers > before, "the helper thread ran no chunk", sourceLocation: sourceLocation)
        return (serial, parallel)
    }

    @Test(arguments: [
        ConvolutionGeometry(kernelSize: 1),
        ConvolutionGeometry(kernelSize: 1, stride: 2),
        ConvolutionGeometry(kernelSize: 3, padding: 1),
        ConvolutionGeometry(kernelSize: 3, padding: 1, groups: 16),
        ConvolutionGeometry(kernelSize: 5, stride: 2, padding: 2, groups: 16),
        ConvolutionGeometry(kernelSize: 3, padding: 2, dilation: 2, groups: 16),
    ])
    func convolutionIsBitIdentical(_ geometry: ConvolutionGeometry) {
        var generator = RandomGenerator(seed: 5)
        let input: Tensor<Float> = Initialiser.normal(shape: [12, 16, 14, 14], standardDeviation: 1, generator: &generator)
        let weight: Tensor<Float> = Initialiser.kaimingUniform(shape: [16, 16 / geometry.groups, geometry.kernelSize, geometry.kernelSize], generator: &generator)
        // A plain 1×1 convolution is one sgemm call, which OpenBLAS threads
        // by itself; every other geometry runs chunks on the engine's pool.
        let plainGEMM = geometry.kernelSize == 1 && geometry.stride == 1 && geometry.groups == 1
        let (one, two) = withOneAndTwoThreads(expectingHelpers: !plainGEMM) { () -> [[Float]] in
            let tape = Tape<Float>()
            let x = tape.variable(input, requiresGrad: true), w = tape.variable(weight, requiresGrad: true)
            let y = x.conv2d(weight: w, geometry: geometry)
            tape.backward(from: y.dotted(with: Tensor(repeating: 0.5, shape: y.shape)))
            return [y.value.scalars, x.grad!.scalars, w.grad!.scalars]
        }
        #expect(one == two)
    }

    @Test func batchNormAndReluAreBitIdentical() {
        var generator = RandomGenerator(seed: 6)
        let input: Tensor<Float> = Initialiser.normal(shape: [16, 12, 16, 16], standardDeviation: 2, generator: &generator)
        let projection: Tensor<Float> = Initialiser.normal(shape: input.shape, standardDeviation: 1, generator: &generator)
        let (one, two) = withOneAndTwoThreads { () -> [[Float]] in
            let statistics = BatchNormStatistics<Float>(channels: 12)
            let tape = Tape<Float>()
            let x = tape.variable(input, requiresGrad: true)
            let y = x.batchNorm(statistics: statistics, mode: .training).relu()
            tape.backward(from: y.dotted(with: projection))
            return [y.value.scalars, x.grad!.scalars, statistics.runningMean.scalars, statistics.runningVariance.scalars]
        }
        #expect(one == two)
    }

    @Test func supernetGradientsAreBitIdentical() {
        let shape = NetworkShape(inputChannels: 1, imageSize: 16, classes: 4, initialChannels: 8, layers: 3)
        var generator = RandomGenerator(seed: 7)
        let net = Supernet<Float>(space: SearchSpace.named("darts")!, shape: shape, generator: &generator)
        let input: Tensor<Float> = Initialiser.normal(shape: [16, 1, 16, 16], standardDeviation: 1, generator: &generator)
        let labels = (0..<16).map { $0 % 4 }
        let (one, two) = withOneAndTwoThreads { () -> [[Float]] in
            let tape = Tape<Float>()
            var noise = RandomGenerator(seed: 0)
            let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, generator: &noise)
            tape.backward(from: pass.logits.crossEntropy(labels: labels))
            return pass.alphas.map { $0.grad!.scalars } + pass.weights.keys.sorted().map { pass.weights[$0]!.grad!.scalars }
        }
        #expect(one == two)
    }
}
