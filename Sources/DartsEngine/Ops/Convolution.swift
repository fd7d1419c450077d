/// The geometry of a 2-D convolution (square kernel, as all DARTS ops use).
public struct ConvolutionGeometry: Hashable, Sendable {
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int
    public var dilation: Int
    public var groups: Int

    public init(kernelSize: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        require(kernelSize >= 1 && stride >= 1 && padding >= 0 && dilation >= 1 && groups >= 1,
                     "conv2d: invalid geometry k=\(kernelSize) s=\(stride) p=\(padding) d=\(dilation) g=\(groups)")
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
    }

    /// Output length along one spatial axis of input length `length`.
    public func outputLength(_ length: Int) -> Int {
        (length + 2 * padding - dilation * (kernelSize - 1) - 1) / stride + 1
    }

    /// The output positions `o` whose tap `tap` reads inside an input of
    /// length `length`: 0 ≤ o·stride − padding + tap·dilation < length.
    func validOutputRange(tap: Int, inputLength length: Int, outputLength: Int) -> Range<Int> {
        let offset = tap * dilation - padding
        // o ≥ ceil(−offset / stride), o ≤ floor((length − 1 − offset) / stride)
        let lower = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let upperInclusive = length - 1 - offset
        if upperInclusive < 0 { return 0..<0 }
        let upper = min(outputLength, upperInclusive / stride + 1)
        return lower < upper ? lower..<upper : 0..<0
    }
}

extension Variable {
    /// 2-D convolution without bias (the DARTS network has none), input
    /// `[N, Cin, H, W]`, weight `[Cout, Cin/groups, k, k]`. Dense and 1×1
    /// convolutions go through BLAS gemm (via im2col unless the conv is a
    /// plain 1×1); depthwise convolutions (groups = Cin = Cout) use direct loops.
    public func conv2d(weight: Variable, geometry: ConvolutionGeometry) -> Variable {
        convolve(with: ConvolutionKernel<Scalar>(inputShape: shape, weightShape: weight.shape, geometry: geometry), weight: weight)
    }

    /// `relu().conv2d(weight:geometry:)`. A depthwise convolution on a tape
    /// that neither records nor replays activation patterns rectifies inside
    /// its kernel: max(x, 0) while copying each plane, the ReLU's backward
    /// while writing the input gradient. The rectified activation is then
    /// never stored, which saves a write and a read of it forward and a
    /// full pass backward (SepConv and DilConv open with ReLU → depthwise).
    /// Otherwise it is the two ops, so a recorded pattern has its ReLU mask.
    public func rectifiedConv2d(weight: Variable, geometry: ConvolutionGeometry) -> Variable {
        guard !tape.tracksActivationPatterns, shape.count == 4, geometry.groups == shape[1], weight.shape.first == shape[1] else {
            return relu().conv2d(weight: weight, geometry: geometry)
        }
        return convolve(with: ConvolutionKernel<Scalar>(inputShape: shape, weightShape: weight.shape, geometry: geometry, rectifiesInput: true),
                        weight: weight)
    }

    private func convolve(with kernel: ConvolutionKernel<Scalar>, weight: Variable) -> Variable {
        let output = kernel.forward(input: value, weight: weight.value)
        tape.profile?.addFlops(2 * kernel.multiplyAccumulates)
        return tape.record(output, kind: kernel.kind, inputs: [self, weight]) { [self] gradient in
            let (dx, dw) = kernel.backward(
                gradient: gradient, input: value, weight: weight.value,
                needInput: requiresGrad, needWeight: weight.requiresGrad)
            tape.profile?.addFlops(2 * kernel.multiplyAccumulates * Double((dx == nil ? 0 : 1) + (dw == nil ? 0 : 1)))
            if let dx { accumulateGradient(dx) }
            if let dw { weight.accumulateGradient(dw) }
        }
    }
}

/// Forward and backward kernels for one convolution shape.
struct ConvolutionKernel<Scalar: TensorScalar> {
    let batch: Int, inChannels: Int, height: Int, width: Int
    let outChannels: Int, outHeight: Int, outWidth: Int
    let geometry: ConvolutionGeometry
    var inChannelsPerGroup: Int { inChannels / geometry.groups }
    var outChannelsPerGroup: Int { outChannels / geometry.groups }
    var taps: Int { geometry.kernelSize * geometry.kernelSize }
    var isDepthwise: Bool { geometry.groups == inChannels && geometry.groups == outChannels }
    /// A 1×1 stride-1 unpadded conv reads the input plane as its own im2col matrix.
    var isPointwise: Bool { geometry.kernelSize == 1 && geometry.stride == 1 && geometry.padding == 0 }
    var kind: OpKind { isDepthwise ? .depthwiseConvolution : geometry.kernelSize == 1 ? .pointwiseConvolution : .denseConvolution }
    var multiplyAccumulates: Double { Double(batch * outChannels * outHeight * outWidth * inChannelsPerGroup * taps) }
    /// Convolves ReLU(input) (depthwise only; see ``Variable/rectifiedConv2d(weight:geometry:)``).
    let rectifiesInput: Bool

    init(inputShape: [Int], weightShape: [Int], geometry: ConvolutionGeometry, rectifiesInput: Bool = false) {
        require(inputShape.count == 4, "conv2d: input must be [N, C, H, W], got \(inputShape)")
        require(weightShape.count == 4, "conv2d: weight must be [Cout, Cin/groups, k, k], got \(weightShape)")
        let k = geometry.kernelSize
        require(
            weightShape[2] == k && weightShape[3] == k,
            "conv2d: weight shape \(weightShape) does not match kernel size \(k)")
        require(
            inputShape[1] % geometry.groups == 0 && weightShape[0] % geometry.groups == 0,
            "conv2d: channels of input \(inputShape) and weight \(weightShape) not divisible by groups \(geometry.groups)")
        require(
            weightShape[1] * geometry.groups == inputShape[1],
            "conv2d: input shape \(inputShape) has \(inputShape[1]) channels, weight shape \(weightShape) expects \(weightShape[1] * geometry.groups)")
        batch = inputShape[0]; inChannels = inputShape[1]; height = inputShape[2]; width = inputShape[3]
        outChannels = weightShape[0]
        outHeight = geometry.outputLength(height)
        outWidth = geometry.outputLength(width)
        require(outHeight > 0 && outWidth > 0, "conv2d: input shape \(inputShape) too small for kernel \(k) with padding \(geometry.padding) and dilation \(geometry.dilation)")
        self.geometry = geometry
        self.rectifiesInput = rectifiesInput
        require(!rectifiesInput || isDepthwise, "conv2d: only a depthwise convolution rectifies its input itself")
    }

    var outputShape: [Int] { [batch, outChannels, outHeight, outWidth] }

    func forward(input: Tensor<Scalar>, weight: Tensor<Scalar>) -> Tensor<Scalar> {
        if isDepthwise { return depthwiseForward(input: input, weight: weight) }
        let planeIn = height * width, planeOut = outHeight * outWidth
        let rows = inChannelsPerGroup * taps
        return Tensor(uninitializedShape: outputShape) { out in
            input.scalars.withUnsafeBufferPointer { x in
                weight.scalars.withUnsafeBufferPointer { w in
                    // Samples are independent: each thread takes a range of them.
                    Parallelism.forEachChunk(of: batch, work: Int(multiplyAccumulates)) { samples in
                        let column = UnsafeMutablePointer<Scalar>.allocate(capacity: isPointwise ? 0 : rows * planeOut)
                        defer { column.deallocate() }
                        for n in samples {
                            for g in 0..<geometry.groups {
                                let xGroup = x.baseAddress! + (n * inChannels + g * inChannelsPerGroup) * planeIn
                                let source: UnsafePointer<Scalar>
                                if isPointwise {
                                    source = UnsafePointer(xGroup)
                                } else {
                                    imageToColumns(UnsafePointer(xGroup), column)
                                    source = UnsafePointer(column)
                                }
                                Scalar.gemm(
                                    transposeA: false, transposeB: false,
                                    m: outChannelsPerGroup, n: planeOut, k: rows,
                                    alpha: 1, a: w.baseAddress! + g * outChannelsPerGroup * rows, lda: rows,
                                    b: source, ldb: planeOut,
                                    beta: 0, c: out.baseAddress! + (n * outChannels + g * outChannelsPerGroup) * planeOut, ldc: planeOut)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Split over samples; each range of samples accumulates its own weight
    /// gradient, and the partial sums are added in range order (so a given
    /// thread count always gives the same bits).
    func backward(
        gradient: Tensor<Scalar>, input: Tensor<Scalar>, weight: Tensor<Scalar>,
        needInput: Bool, needWeight: Bool
    ) -> (input: Tensor<Scalar>?, weight: Tensor<Scalar>?) {
        if isDepthwise {
            return depthwiseBackward(gradient: gradient, input: input, weight: weight, needInput: needInput, needWeight: needWeight)
        }
        let planeIn = height * width, planeOut = outHeight * outWidth
        let rows = inChannelsPerGroup * taps
        let work = Int(multiplyAccumulates) * ((needInput ? 1 : 0) + (needWeight ? 1 : 0))
        let ranges = Parallelism.chunks(of: batch, work: work)
        // A pointwise conv writes each sample's dx once (gemm with beta 0);
        // the im2col path adds columns back onto zeros.
        var dx: [Scalar] = !needInput ? [] : isPointwise
            ? [Scalar](unfilledCount: input.count)
            : [Scalar](repeating: 0, count: input.count)
        var partials = needWeight ? [Scalar](repeating: 0, count: weight.count * ranges.count) : []
        input.scalars.withUnsafeBufferPointer { x in
            weight.scalars.withUnsafeBufferPointer { w in
                gradient.scalars.withUnsafeBufferPointer { gy in
                    dx.withUnsafeMutableBufferPointer { dx in
                        partials.withUnsafeMutableBufferPointer { partials in
                            Parallelism.forEachChunk(of: batch, work: work) { samples in
                                let column = UnsafeMutablePointer<Scalar>.allocate(capacity: isPointwise ? 0 : rows * planeOut)
                                defer { column.deallocate() }
                                let dw = needWeight ? partials.baseAddress! + ranges.firstIndex(of: samples)! * weight.count : nil
                                for n in samples {
                                    for g in 0..<geometry.groups {
                                        let inOffset = (n * inChannels + g * inChannelsPerGroup) * planeIn
                                        let gyGroup = gy.baseAddress! + (n * outChannels + g * outChannelsPerGroup) * planeOut
                                        let wGroup = w.baseAddress! + g * outChannelsPerGroup * rows
                                        if let dw {
                                            let source: UnsafePointer<Scalar>
                                            if isPointwise {
                                                source = x.baseAddress! + inOffset
                                            } else {
                                                imageToColumns(x.baseAddress! + inOffset, column)
                                                source = UnsafePointer(column)
                                            }
                                            // dW_g += gy_g · colᵀ
                                            Scalar.gemm(
                                                transposeA: false, transposeB: true,
                                                m: outChannelsPerGroup, n: rows, k: planeOut,
                                                alpha: 1, a: gyGroup, lda: planeOut, b: source, ldb: planeOut,
                                                beta: 1, c: dw + g * outChannelsPerGroup * rows, ldc: rows)
                                        }
                                        if needInput {
                                            // dcol = W_gᵀ · gy_g, scattered back onto the image.
                                            let target = isPointwise ? dx.baseAddress! + inOffset : column
                                            Scalar.gemm(
                                                transposeA: true, transposeB: false,
                                                m: rows, n: planeOut, k: outChannelsPerGroup,
                                                alpha: 1, a: wGroup, lda: rows, b: gyGroup, ldb: planeOut,
                                                beta: 0, c: target, ldc: planeOut)
                                            if !isPointwise {
                                                columnsToImage(UnsafePointer(column), dx.baseAddress! + inOffset)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (needInput ? Tensor(shape: input.shape, scalars: dx) : nil,
                needWeight ? Tensor(shape: weight.shape, scalars: Parallelism.sumInChunkOrder(partials, length: weight.count)) : nil)
    }

    /// Unfolds one group of one image into `[Cin_g·k·k, Ho·Wo]` (zeros where a tap
    /// falls into the padding).
    private func imageToColumns(_ image: UnsafePointer<Scalar>, _ columns: UnsafeMutablePointer<Scalar>) {
        let k = geometry.kernelSize, s = geometry.stride, d = geometry.dilation, p = geometry.padding
        let planeOut = outHeight * outWidth
        for c in 0..<inChannelsPerGroup {
            let plane = image + c * height * width
            for ki in 0..<k {
                let rowsValid = geometry.validOutputRange(tap: ki, inputLength: height, outputLength: outHeight)
                for kj in 0..<k {
                    let colsValid = geometry.validOutputRange(tap: kj, inputLength: width, outputLength: outWidth)
                    let dst = columns + ((c * k + ki) * k + kj) * planeOut
                    dst.update(repeating: 0, count: planeOut)
                    for oh in rowsValid {
                        let ih = oh * s - p + ki * d
                        let srcRow = plane + ih * width
                        let dstRow = dst + oh * outWidth
                        for ow in colsValid {
                            dstRow[ow] = srcRow[ow * s - p + kj * d]
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `imageToColumns`: adds every column entry back onto the
    /// image position it was read from.
    private func columnsToImage(_ columns: UnsafePointer<Scalar>, _ image: UnsafeMutablePointer<Scalar>) {
        let k = geometry.kernelSize, s = geometry.stride, d = geometry.dilation, p = geometry.padding
        let planeOut = outHeight * outWidth
        for c in 0..<inChannelsPerGroup {
            let plane = image + c * height * width
            for ki in 0..<k {
                let rowsValid = geometry.validOutputRange(tap: ki, inputLength: height, outputLength: outHeight)
                for kj in 0..<k {
                    let colsValid = geometry.validOutputRange(tap: kj, inputLength: width, outputLength: outWidth)
                    let src = columns + ((c * k + ki) * k + kj) * planeOut
                    for oh in rowsValid {
                        let ih = oh * s - p + ki * d
                        let dstRow = plane + ih * width
                        let srcRow = src + oh * outWidth
                        for ow in colsValid {
                            dstRow[ow * s - p + kj * d] += srcRow[ow]
                        }
                    }
                }
            }
        }
    }

    // MARK: Depthwise
    //
    // The loops are C kernels (CKernels' depthwise.c, compiled for AVX2+FMA
    // too): each plane is copied into a zero-bordered scratch plane and every
    // output row is computed as whole vectors along it. A strided convolution
    // computes only the rows it keeps, at stride 1 along them, and reads every
    // s-th value; its backward spreads the gradient onto the stride-1
    // positions. Work is split over samples: one call does all channels of
    // a chunk of samples, a contiguous run of memory.

    private var depthwiseGeometry: DepthwiseGeometry {
        DepthwiseGeometry(channels: inChannels, rectifiesInput: rectifiesInput, height: height, width: width, outHeight: outHeight, outWidth: outWidth,
                          kernelSize: geometry.kernelSize, stride: geometry.stride, padding: geometry.padding,
                          dilation: geometry.dilation)
    }

    private var depthwiseWork: Int { batch * inChannels * outHeight * outWidth * taps }

    private func depthwiseForward(input: Tensor<Scalar>, weight: Tensor<Scalar>) -> Tensor<Scalar> {
        let shape = depthwiseGeometry, planeIn = height * width, planeOut = outHeight * outWidth
        return Tensor(uninitializedShape: outputShape) { out in
            input.scalars.withUnsafeBufferPointer { x in
                weight.scalars.withUnsafeBufferPointer { w in
                    Parallelism.forEachChunk(of: batch, work: depthwiseWork) { samples in
                        let scratch = UnsafeMutablePointer<Scalar>.allocate(capacity: shape.scratchCount)
                        defer { scratch.deallocate() }
                        let first = samples.lowerBound * inChannels
                        Scalar.planeKernels.depthwiseForward(
                            x.baseAddress! + first * planeIn, samples: samples.count, geometry: shape,
                            weights: w.baseAddress!, into: out.baseAddress! + first * planeOut, scratch: scratch)
                    }
                }
            }
        }
    }

    /// The weight gradient is summed per chunk of samples, then over the
    /// chunks in order: the same order on any thread count.
    private func depthwiseBackward(
        gradient: Tensor<Scalar>, input: Tensor<Scalar>, weight: Tensor<Scalar>,
        needInput: Bool, needWeight: Bool
    ) -> (input: Tensor<Scalar>?, weight: Tensor<Scalar>?) {
        let shape = depthwiseGeometry, planeIn = height * width, planeOut = outHeight * outWidth
        let work = depthwiseWork * ((needInput ? 1 : 0) + (needWeight ? 1 : 0))
        let ranges = Parallelism.chunks(of: batch, work: work)
        var dx = needInput ? [Scalar](unfilledCount: input.count) : []
        var dwPartials = needWeight ? [Double](repeating: 0, count: ranges.count * weight.count) : []
        input.scalars.withUnsafeBufferPointer { x in
            weight.scalars.withUnsafeBufferPointer { w in
                gradient.scalars.withUnsafeBufferPointer { gy in
                    dx.withUnsafeMutableBufferPointer { dx in
                        dwPartials.withUnsafeMutableBufferPointer { dw in
                            Parallelism.forEachChunk(of: batch, work: work) { samples in
                                let scratch = UnsafeMutablePointer<Scalar>.allocate(capacity: shape.scratchCount)
                                defer { scratch.deallocate() }
                                let first = samples.lowerBound * inChannels
                                Scalar.planeKernels.depthwiseBackward(
                                    gradient: gy.baseAddress! + first * planeOut, input: x.baseAddress! + first * planeIn,
                                    samples: samples.count, geometry: shape, weights: w.baseAddress!,
                                    inputGradient: needInput ? dx.baseAddress! + first * planeIn : nil,
                                    weightGradient: needWeight ? dw.baseAddress! + ranges.firstIndex(of: samples)! * weight.count : nil,
                                    scratch: scratch)
                            }
                        }
                    }
                }
            }
        }
        let dw = needWeight ? Parallelism.sumInChunkOrder(dwPartials, length: weight.count) : []
        return (needInput ? Tensor(shape: input.shape, scalars: dx) : nil,
                needWeight ? Tensor(shape: weight.shape, scalars: dw.map { Scalar($0) }) : nil)
    }
}
