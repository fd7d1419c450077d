import DartsEngine
import Testing

/// Finite-difference checks for every differentiable op other than conv2d.
@Suite("op gradients")
struct OpGradientTests {
    let checker = GradientChecker()

    @Test(arguments: [[1, 2, 5, 5], [3, 2, 4, 3]])
    func relu(_ shape: [Int]) {
        var data = TestData()
        let report = checker.check([data.normal(shape)]) { _, v in v[0].relu() }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [(1, [1, 2, 5, 5]), (2, [2, 2, 7, 6]), (2, [1, 1, 4, 4])])
    func maxPool(_ stride: Int, _ shape: [Int]) {
        var data = TestData()
        let report = checker.check([data.normal(shape)]) { _, v in v[0].maxPool(.init(stride: stride)) }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [(1, [1, 2, 5, 5]), (2, [2, 2, 7, 6]), (2, [1, 1, 4, 4])])
    func averagePool(_ stride: Int, _ shape: [Int]) {
        var data = TestData()
        let report = checker.check([data.normal(shape)]) { _, v in v[0].averagePool(.init(stride: stride)) }
        #expect(report.passed, "\(report)")
    }

    /// The vectorised window scan against a plain one, on integer values full
    /// of ties: the first maximum in row-major window order wins (PyTorch's
    /// rule), and the gradient goes to exactly that element.
    @Test(arguments: [(1, [2, 3, 7, 9]), (2, [1, 2, 9, 7]), (2, [1, 1, 8, 8]), (1, [1, 1, 3, 1])])
    func maxPoolPicksTheFirstMaximum(_ stride: Int, _ shape: [Int]) {
        let geometry = PoolingGeometry(stride: stride)
        let height = shape[2], width = shape[3]
        let values = (0..<shape.reduce(1, *)).map { Double(($0 * 7919) % 5) }
        let tape = Tape<Double>()
        let x = tape.variable(Tensor(shape: shape, scalars: values), requiresGrad: true)
        let y = x.maxPool(geometry)
        tape.backward(from: y.sumAll())
        let outHeight = geometry.outputLength(height), outWidth = geometry.outputLength(width)
        var expected: [Double] = [], gradient = [Double](repeating: 0, count: values.count)
        for plane in 0..<(shape[0] * shape[1]) {
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    var best = -Double.infinity, at = -1
                    for ih in (oh * stride - 1)..<(oh * stride + 2) where (0..<height).contains(ih) {
                        for iw in (ow * stride - 1)..<(ow * stride + 2) where (0..<width).contains(iw) {
                            let index = (plane * height + ih) * width + iw
                            if values[index] > best { best = values[index]; at = index }
                        }
                    }
                    expected.append(best)
                    gradient[at] += 1
                }
            }
        }
        #expect(y.value.scalars == expected)
        #expect(x.grad?.scalars == gradient)
    }

    /// A window of nothing but −∞ still picks an element inside the image
    /// (its first in-bounds one, as PyTorch does), never the padding.
    @Test(arguments: [1, 2])
    func maxPoolOfNegativeInfinityPicksTheFirstInBoundsElement(_ stride: Int) {
        let geometry = PoolingGeometry(stride: stride)
        let height = 5, width = 4
        let tape = Tape<Double>()
        let x = tape.variable(Tensor(repeating: -.infinity, shape: [1, 1, height, width]), requiresGrad: true)
        let y = x.maxPool(geometry)
        tape.backward(from: y.sumAll())
        var gradient = [Double](repeating: 0, count: height * width)
        for oh in 0..<geometry.outputLength(height) {
            for ow in 0..<geometry.outputLength(width) {
                gradient[max(oh * stride - 1, 0) * width + max(ow * stride - 1, 0)] += 1
            }
        }
        #expect(y.value.scalars.allSatisfy { $0 == -.infinity })
        #expect(x.grad?.scalars == gradient)
    }

    @Test func averagePoolExcludesPadding() {
        let tape = Tape<Double>()
        let x = tape.constant(Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4]))
        // Every 3×3 window of a 2×2 image with padding 1 holds all four pixels.
        #expect(x.averagePool(.init(stride: 1)).value.scalars == [2.5, 2.5, 2.5, 2.5])
    }

    @Test(arguments: [[1, 3, 4, 4], [4, 2, 3, 5], [5, 3]])
    func batchNormTrainingAffine(_ shape: [Int]) {
        var data = TestData()
        let stats = BatchNormStatistics<Double>(channels: shape[1])
        let report = checker.check([data.normal(shape), data.normal([shape[1]]), data.normal([shape[1]])]) { _, v in
            v[0].batchNorm(statistics: stats, mode: .training, scale: v[1], shift: v[2])
        }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [BatchNormMode.batchStatistics, .evaluation])
    func batchNormWithoutAffine(_ mode: BatchNormMode) {
        var data = TestData()
        let stats = BatchNormStatistics<Double>(channels: 3)
        stats.runningMean = data.normal([3])
        stats.runningVariance = data.uniform([3], 0.5..<2)
        let report = checker.check([data.normal([2, 3, 3, 3])]) { _, v in
            v[0].batchNorm(statistics: stats, mode: mode)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func batchNormEvaluationAffine() {
        var data = TestData()
        let stats = BatchNormStatistics<Double>(channels: 2)
        stats.runningMean = data.normal([2])
        stats.runningVariance = data.uniform([2], 0.5..<2)
        let report = checker.check([data.normal([2, 2, 3, 3]), data.normal([2]), data.normal([2])]) { _, v in
            v[0].batchNorm(statistics: stats, mode: .evaluation, scale: v[1], shift: v[2])
        }
        #expect(report.passed, "\(report)")
    }

    @Test func concatenateChannels() {
        var data = TestData()
        let report = checker.check([data.normal([2, 1, 3, 3]), data.normal([2, 3, 3, 3]), data.normal([2, 2, 3, 3])]) { _, v in
            Variable.concatenateChannels(v)
        }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [[1, 2, 4, 4], [2, 3, 5, 3]])
    func factorizedReduce(_ shape: [Int]) {
        var data = TestData()
        let report = checker.check([data.normal(shape), data.normal([2, shape[1], 1, 1]), data.normal([3, shape[1], 1, 1])]) { _, v in
            v[0].factorizedReduce(first: v[1], second: v[2])
        }
        #expect(report.passed, "\(report)")
    }

    /// The fused op against its definition: two strided 1×1 convolutions, the
    /// second of the input shifted by one pixel (zero past the edge), stacked.
    @Test(arguments: [[2, 3, 6, 6], [1, 2, 5, 7]])
    func factorizedReduceIsTwoStridedConvolutions(_ shape: [Int]) {
        var data = TestData()
        let x = data.normal(shape), w1 = data.normal([2, shape[1], 1, 1]), w2 = data.normal([3, shape[1], 1, 1])
        let (height, width) = (shape[2], shape[3])
        var shifted = Tensor<Double>(zeros: shape)
        for p in 0..<(shape[0] * shape[1]) {
            for i in 0..<(height - 1) {
                for j in 0..<(width - 1) { shifted.scalars[(p * height + i) * width + j] = x.scalars[(p * height + i + 1) * width + j + 1] }
            }
        }
        let tape = Tape<Double>()
        let geometry = ConvolutionGeometry(kernelSize: 1, stride: 2)
        let expected = Variable.concatenateChannels([
            tape.constant(x).conv2d(weight: tape.constant(w1), geometry: geometry),
            tape.constant(shifted).conv2d(weight: tape.constant(w2), geometry: geometry),
        ])
        let fused = tape.constant(x).factorizedReduce(first: tape.constant(w1), second: tape.constant(w2))
        #expect(fused.shape == expected.shape)
        let worst = zip(fused.value.scalars, expected.value.scalars).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-12)
    }

    @Test func sumOfTerms() {
        var data = TestData()
        let report = checker.check([data.normal([2, 3]), data.normal([2, 3]), data.normal([2, 3])]) { _, v in
            Variable.sum([v[0], v[1], v[2], v[0]])
        }
        #expect(report.passed, "\(report)")
    }

    @Test func scaledByMixingWeight() {
        var data = TestData()
        let report = checker.check([data.normal([2, 2, 3, 3]), data.normal([3, 4])]) { _, v in
            v[0].scaled(byElement: 6, of: v[1])
        }
        #expect(report.passed, "\(report)")
    }

    @Test func addingConstantAndCopy() {
        var data = TestData()
        let offset = data.normal([3, 2])
        let report = checker.check([data.normal([3, 2])]) { _, v in
            Variable.sum([v[0].adding(offset), v[0].copied()])
        }
        #expect(report.passed, "\(report)")
    }

    @Test func globalAveragePool() {
        var data = TestData()
        let report = checker.check([data.normal([2, 3, 3, 5])]) { _, v in v[0].globalAveragePool() }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [true, false])
    func linear(_ withBias: Bool) {
        var data = TestData()
        let report = checker.check([data.normal([3, 5]), data.normal([4, 5]), data.normal([4])]) { _, v in
            v[0].linear(weight: v[1], bias: withBias ? v[2] : nil)
        }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [[8], [14, 8], [4, 2]])
    func softmax(_ shape: [Int]) {
        var data = TestData()
        let report = checker.check([data.normal(shape)]) { _, v in v[0].softmax() }
        #expect(report.passed, "\(report)")
    }

    @Test(arguments: [1, 4])
    func crossEntropy(_ batch: Int) {
        var data = TestData()
        let labels = (0..<batch).map { $0 % 3 }
        let report = checker.check([data.normal([batch, 3], scale: 3)]) { _, v in v[0].crossEntropy(labels: labels) }
        #expect(report.passed, "\(report)")
    }

    @Test func crossEntropyMatchesHandComputedValue() {
        // Row 0: logits (1, 2, 3), label 2: log(e¹+e²+e³) − 3 = 0.40760596444
        // Row 1: logits (0, 0), label 0 of two classes padded: use (0, 0, 0) → log 3 = 1.09861228867
        let tape = Tape<Double>()
        let logits = tape.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, 0]))
        let loss = logits.crossEntropy(labels: [2, 0]).value.scalars[0]
        #expect(abs(loss - (0.40760596444438 + 1.09861228866811) / 2) < 1e-12)
        #expect(Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 0, 5, 0]).accuracy(labels: [2, 0]) == 0.5)
    }

    @Test func zerosHaveSubsampledShapeAndNoGradient() {
        let tape = Tape<Float>()
        let x = tape.variable(Tensor(zeros: [2, 3, 7, 6]), requiresGrad: true)
        let z = x.zeros(stride: 2)
        #expect(z.shape == [2, 3, 4, 3])
        #expect(!z.requiresGrad)
        #expect(x.zeros(stride: 1).shape == x.shape)
    }
}
