/// Throughput of the numerical kernels the supernet spends its time in:
/// BLAS sgemm at the shapes the convolutions produce, and each convolution
/// kind (dense, pointwise, depthwise, dilated) forward and backward at the
/// shapes of the demo supernet.
public enum KernelBenchmark {
    public struct Result: Codable, Sendable {
        public var name: String
        public var flops: Double
        public var timing: TimingSummary
        public var gigaflopsPerSecond: Double { flops / timing.median / 1e9 }
    }

    public static func run(repetitions: Int = 10) -> [Result] {
        var results: [Result] = []
        for (m, n, k) in [(256, 256, 256), (512, 512, 512), (16, 784, 16), (48, 784, 27)] {
            var generator = RandomGenerator(seed: 1)
            let a: Tensor<Float> = Initialiser.normal(shape: [m, k], standardDeviation: 1, generator: &generator)
            let b: Tensor<Float> = Initialiser.normal(shape: [k, n], standardDeviation: 1, generator: &generator)
            var c = Tensor<Float>(zeros: [m, n])
            let timing = TimingSummary.measure(repetitions: repetitions) {
                a.scalars.withUnsafeBufferPointer { a in
                    b.scalars.withUnsafeBufferPointer { b in
                        c.scalars.withUnsafeMutableBufferPointer { c in
                            Float.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                       a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
                        }
                    }
                }
            }
            results.append(Result(name: "sgemm \(m)x\(n)x\(k)", flops: 2 * Double(m * n * k), timing: timing))
        }

        // Demo-supernet shapes: batch 32, C = 16 channels at 28×28 (after the stem).
        let convolutions: [(String, [Int], Int, ConvolutionGeometry)] = [
            ("conv 3x3 dense (stem) 1→24 @28²", [32, 1, 28, 28], 24, .init(kernelSize: 3, padding: 1)),
            ("conv 1x1 16→16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 1)),
            ("conv 1x1 s2 16→8 @28²", [32, 16, 28, 28], 8, .init(kernelSize: 1, stride: 2)),
            ("depthwise 3x3 16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 3, padding: 1, groups: 16)),
            ("depthwise 5x5 16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 5, padding: 2, groups: 16)),
            ("dilated 3x3 d2 16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 3, padding: 2, dilation: 2, groups: 16)),
            // The smaller planes of the later cells, and the stride-2 edges of a reduction cell.
            ("depthwise 3x3 32 @14²", [32, 32, 14, 14], 32, .init(kernelSize: 3, padding: 1, groups: 32)),
            ("dilated 5x5 d2 64 @7²", [32, 64, 7, 7], 64, .init(kernelSize: 5, padding: 4, dilation: 2, groups: 64)),
            ("depthwise 3x3 s2 16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 3, stride: 2, padding: 1, groups: 16)),
            ("depthwise 5x5 s2 16 @28²", [32, 16, 28, 28], 16, .init(kernelSize: 5, stride: 2, padding: 2, groups: 16)),
        ]
        for (name, inputShape, outChannels, geometry) in convolutions {
            var generator = RandomGenerator(seed: 2)
            let input: Tensor<Float> = Initialiser.normal(shape: inputShape, standardDeviation: 1, generator: &generator)
            let weightShape = [outChannels, inputShape[1] / geometry.groups, geometry.kernelSize, geometry.kernelSize]
            let weight: Tensor<Float> = Initialiser.kaimingUniform(shape: weightShape, generator: &generator)
            let outHeight = geometry.outputLength(inputShape[2]), outWidth = geometry.outputLength(inputShape[3])
            let macs = Double(inputShape[0] * outChannels * outHeight * outWidth * weightShape[1] * geometry.kernelSize * geometry.kernelSize)
            let forward = TimingSummary.measure(repetitions: repetitions) {
                let tape = Tape<Float>()
                _ = tape.constant(input).conv2d(weight: tape.constant(weight), geometry: geometry)
            }
            results.append(Result(name: "\(name) fwd", flops: 2 * macs, timing: forward))
            let both = TimingSummary.measure(repetitions: repetitions) {
                let tape = Tape<Float>()
                let x = tape.variable(input, requiresGrad: true)
                let y = x.conv2d(weight: tape.variable(weight, requiresGrad: true), geometry: geometry)
                tape.backward(from: y, seed: Tensor(repeating: 1, shape: y.shape))
            }
            results.append(Result(name: "\(name) fwd+bwd", flops: 6 * macs, timing: both))
        }
        return results
    }
}
