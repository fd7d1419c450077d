import DartsEngine
import Testing

@Suite("conv2d gradients")
struct ConvolutionGradientTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int]
        var outChannels: Int
        var geometry: ConvolutionGeometry
        var testDescription: String {
            "x\(input) Cout=\(outChannels) k=\(geometry.kernelSize) s=\(geometry.stride) p=\(geometry.padding) d=\(geometry.dilation) g=\(geometry.groups)"
        }
    }

    static let cases: [Case] = [
        Case(input: [2, 3, 5, 5], outChannels: 4, geometry: .init(kernelSize: 3, padding: 1)),  // dense 3×3 (stem)
        Case(input: [1, 2, 7, 6], outChannels: 3, geometry: .init(kernelSize: 3, stride: 2, padding: 1)),  // stride 2, odd
        Case(input: [2, 2, 7, 7], outChannels: 2, geometry: .init(kernelSize: 3, padding: 2, dilation: 2)),  // dilation 2
        Case(input: [2, 4, 5, 5], outChannels: 6, geometry: .init(kernelSize: 3, padding: 1, groups: 2)),  // grouped
        Case(input: [3, 4, 5, 5], outChannels: 3, geometry: .init(kernelSize: 1)),  // pointwise
        Case(input: [2, 3, 6, 5], outChannels: 2, geometry: .init(kernelSize: 1, stride: 2)),  // FactorizedReduce branch
        Case(input: [2, 3, 5, 5], outChannels: 3, geometry: .init(kernelSize: 3, padding: 1, groups: 3)),  // depthwise 3×3
        Case(input: [1, 2, 9, 8], outChannels: 2, geometry: .init(kernelSize: 5, stride: 2, padding: 2, groups: 2)),  // depthwise 5×5 s2
        Case(input: [2, 2, 7, 7], outChannels: 2, geometry: .init(kernelSize: 3, stride: 2, padding: 2, dilation: 2, groups: 2)),  // dil_conv s2
        Case(input: [1, 2, 9, 9], outChannels: 2, geometry: .init(kernelSize: 5, padding: 4, dilation: 2, groups: 2)),  // dil_conv_5x5
    ]

    @Test(arguments: cases)
    func matchesFiniteDifferences(_ c: Case) {
        var data = TestData()
        let weightShape = [c.outChannels, c.input[1] / c.geometry.groups, c.geometry.kernelSize, c.geometry.kernelSize]
        let report = GradientChecker().check([data.normal(c.input), data.normal(weightShape)]) { _, v in
            v[0].conv2d(weight: v[1], geometry: c.geometry)
        }
        #expect(report.passed, "\(report)")
    }

    /// An independent path (im2col + gemm) for the depthwise kernels. The
    /// second shape is big enough to be cut into chunks of samples, whose
    /// weight-gradient partials are then added up.
    @Test(arguments: [[2, 3, 7, 7], [8, 2, 32, 32]])
    func depthwiseMatchesDenseConvolutionWithBlockDiagonalWeights(_ inputShape: [Int]) {
        var data = TestData()
        let channels = inputShape[1]
        let input = data.normal(inputShape)
        let depthwiseWeight = data.normal([channels, 1, 3, 3])
        var denseWeight = Tensor<Double>(zeros: [channels, channels, 3, 3])
        for c in 0..<channels { for t in 0..<9 { denseWeight.scalars[(c * channels + c) * 9 + t] = depthwiseWeight.scalars[c * 9 + t] } }
        let seed = data.normal([inputShape[0], channels, (inputShape[2] + 1) / 2, (inputShape[3] + 1) / 2])
        func convolve(_ weight: Tensor<Double>, groups: Int) -> (y: Tensor<Double>, dx: Tensor<Double>, dw: Tensor<Double>) {
            let tape = Tape<Double>()
            let x = tape.variable(input, requiresGrad: true), w = tape.variable(weight, requiresGrad: true)
            let y = x.conv2d(weight: w, geometry: .init(kernelSize: 3, stride: 2, padding: 2, dilation: 2, groups: groups))
            tape.backward(from: y, seed: seed)
            return (y.value, x.grad!, w.grad!)
        }
        let depthwise = convolve(depthwiseWeight, groups: channels), dense = convolve(denseWeight, groups: 1)
        #expect(depthwise.y.shape == seed.shape)
        for (a, b) in zip(depthwise.y.scalars, dense.y.scalars) { #expect(abs(a - b) < 1e-12) }
        for (a, b) in zip(depthwise.dx.scalars, dense.dx.scalars) { #expect(abs(a - b) < 1e-12) }
        for c in 0..<channels {
            for t in 0..<9 { #expect(abs(depthwise.dw.scalars[c * 9 + t] - dense.dw.scalars[(c * channels + c) * 9 + t]) < 1e-10) }
        }
    }

    /// The fused ReLU → depthwise op against the two ops it replaces: the
    /// same values and gradients in both scalar types (the float build has
    /// 8 lanes, the double one 4, so planes whose size is no multiple of
    /// either take the overlapping last vector), and finite differences.
    static let rectifiedShapes: [([Int], ConvolutionGeometry)] = [
        ([2, 3, 7, 7], .init(kernelSize: 3, padding: 1, groups: 3)),
        ([2, 2, 9, 6], .init(kernelSize: 5, stride: 2, padding: 2, groups: 2)),
        ([1, 2, 3, 2], .init(kernelSize: 3, padding: 2, dilation: 2, groups: 2)),
        ([8, 2, 28, 28], .init(kernelSize: 3, padding: 1, groups: 2)),
    ]

    @Test(arguments: rectifiedShapes)
    func rectifiedDepthwiseMatchesReluThenConvolution(_ inputShape: [Int], _ geometry: ConvolutionGeometry) {
        var data = TestData()
        var input = data.normal(inputShape)
        input.scalars[1] = .nan  // kept by both forms: divergence must stay visible
        let weight = data.normal([inputShape[1], 1, geometry.kernelSize, geometry.kernelSize])
        func compare<Scalar: TensorScalar>(_: Scalar.Type) {
            func run(fused: Bool) -> [[Scalar]] {
                let tape = Tape<Scalar>()
                let x = tape.variable(Tensor<Scalar>(input), requiresGrad: true), w = tape.variable(Tensor<Scalar>(weight), requiresGrad: true)
                let y = fused ? x.rectifiedConv2d(weight: w, geometry: geometry) : x.relu().conv2d(weight: w, geometry: geometry)
                var seed = TestData()
                tape.backward(from: y, seed: Tensor<Scalar>(seed.normal(y.shape)))
                return [y.value.scalars, x.grad!.scalars, w.grad!.scalars]
            }
            let (fused, separate) = (run(fused: true), run(fused: false))
            for (a, b) in zip(fused, separate) {
                #expect(a.count == b.count)
                // NaN reaches the outputs whose windows hold it, and dw, in both forms alike.
                #expect(zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
            }
        }
        compare(Float.self)
        compare(Double.self)
    }

    @Test(arguments: rectifiedShapes.prefix(3))
    func rectifiedDepthwiseMatchesFiniteDifferences(_ inputShape: [Int], _ geometry: ConvolutionGeometry) {
        var data = TestData()
        let report = GradientChecker().check([data.normal(inputShape), data.normal([inputShape[1], 1, geometry.kernelSize, geometry.kernelSize])]) { _, v in
            v[0].rectifiedConv2d(weight: v[1], geometry: geometry)
        }
        #expect(report.passed, "\(report)")
    }

    @Test func outputShapesFollowPyTorch() {
        let tape = Tape<Float>()
        let x = tape.constant(Tensor(zeros: [1, 4, 28, 28]))
        #expect(x.conv2d(weight: tape.constant(Tensor(zeros: [4, 1, 5, 5])), geometry: .init(kernelSize: 5, stride: 2, padding: 4, dilation: 2, groups: 4)).shape == [1, 4, 14, 14])
        #expect(x.conv2d(weight: tape.constant(Tensor(zeros: [2, 4, 1, 1])), geometry: .init(kernelSize: 1, stride: 2)).shape == [1, 2, 14, 14])
        let odd = tape.constant(Tensor<Float>(zeros: [1, 4, 7, 7]))
        #expect(odd.conv2d(weight: tape.constant(Tensor(zeros: [4, 1, 3, 3])), geometry: .init(kernelSize: 3, stride: 2, padding: 1, groups: 4)).shape == [1, 4, 4, 4])
    }

    /// The float kernels run 8 lanes wide against the double ones' 4, so rows
    /// shorter than a vector, strided rows and the last row of each plane take
    /// other paths in each; both must give the same values and gradients.
    static let depthwiseShapes: [([Int], ConvolutionGeometry)] = [
        ([2, 4, 6, 6], .init(kernelSize: 3, padding: 1, groups: 4)),
        ([2, 3, 7, 7], .init(kernelSize: 3, padding: 1, groups: 3)),
        ([1, 2, 3, 5], .init(kernelSize: 3, padding: 1, groups: 2)),
        ([2, 3, 14, 9], .init(kernelSize: 5, padding: 2, groups: 3)),
        ([2, 2, 7, 7], .init(kernelSize: 3, stride: 2, padding: 1, groups: 2)),
        ([1, 3, 11, 17], .init(kernelSize: 5, stride: 2, padding: 2, groups: 3)),
        ([2, 2, 9, 9], .init(kernelSize: 5, padding: 4, dilation: 2, groups: 2)),
        ([1, 2, 10, 10], .init(kernelSize: 3, stride: 2, padding: 2, dilation: 2, groups: 2)),
    ]

    @Test(arguments: depthwiseShapes)
    func floatAgreesWithDouble(_ inputShape: [Int], _ geometry: ConvolutionGeometry) {
        var data = TestData()
        let channels = inputShape[1], k = geometry.kernelSize
        let input = data.normal(inputShape), weight = data.normal([channels, 1, k, k])
        let double = Tape<Double>()
        let xd = double.variable(input, requiresGrad: true), wd = double.variable(weight, requiresGrad: true)
        let yd = xd.conv2d(weight: wd, geometry: geometry)
        let seed = data.normal(yd.shape)
        double.backward(from: yd, seed: seed)
        let single = Tape<Float>()
        let xf = single.variable(Tensor<Float>(input), requiresGrad: true), wf = single.variable(Tensor<Float>(weight), requiresGrad: true)
        let yf = xf.conv2d(weight: wf, geometry: geometry)
        single.backward(from: yf, seed: Tensor<Float>(seed))
        for (expected, actual) in [(yd.value, yf.value), (xd.grad!, xf.grad!), (wd.grad!, wf.grad!)] {
            #expect(expected.shape == actual.shape)
            let scale = expected.scalars.map(abs).max()! + 1
            let worst = zip(expected.scalars, actual.scalars).map { abs($0 - Double($1)) }.max()!
            #expect(worst < 1e-5 * scale)
        }
    }
}
