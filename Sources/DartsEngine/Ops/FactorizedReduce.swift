extension Variable {
    /// DARTS' FactorizedReduce without its batch norm, on an already
    /// rectified input `[N, Cin, H, W]`: two 1×1 stride-2 convolutions, the
    /// second reading the input shifted by one pixel (`x[:, :, 1:, 1:]` in the
    /// reference, zero past the last row and column), concatenated along the
    /// channels into `[N, C₁ + C₂, ⌈H/2⌉, ⌈W/2⌉]`.
    ///
    /// One op instead of shift, two strided convolutions and a concatenation:
    /// each sample's even and odd pixels are gathered into two small column
    /// matrices and each gemm writes its half of the output in place, so the
    /// full-size shifted copy, the im2col and the concatenation copy are gone.
    /// Odd sizes keep both halves the same size: the shifted branch reads
    /// zeros where the plain slice would have ended early.
    public func factorizedReduce(first: Variable, second: Variable) -> Variable {
        let reduction = FactorizedReduction<Scalar>(inputShape: shape, firstWeight: first.shape, secondWeight: second.shape)
        let output = reduction.forward(input: value, first: first.value, second: second.value)
        tape.profile?.addFlops(2 * reduction.multiplyAccumulates)
        return tape.record(output, kind: .pointwiseConvolution, inputs: [self, first, second]) { [self] gradient in
            let (dx, dFirst, dSecond) = reduction.backward(
                gradient: gradient, input: value, first: first.value, second: second.value,
                needInput: requiresGrad, needWeights: first.requiresGrad || second.requiresGrad)
            tape.profile?.addFlops(2 * reduction.multiplyAccumulates * Double((dx == nil ? 0 : 1) + (dFirst == nil ? 0 : 1)))
            if let dx { accumulateGradient(dx) }
            if let dFirst { first.accumulateGradient(dFirst) }
            if let dSecond { second.accumulateGradient(dSecond) }
        }
    }
}

/// The shapes and loops of ``Variable/factorizedReduce(first:second:)``.
struct FactorizedReduction<Scalar: TensorScalar> {
    let batch: Int, inChannels: Int, height: Int, width: Int
    let firstChannels: Int, secondChannels: Int
    let outHeight: Int, outWidth: Int
    var outChannels: Int { firstChannels + secondChannels }
    var planeIn: Int { height * width }
    var planeOut: Int { outHeight * outWidth }
    var multiplyAccumulates: Double { Double(batch * outChannels * planeOut * inChannels) }

    init(inputShape: [Int], firstWeight: [Int], secondWeight: [Int]) {
        require(inputShape.count == 4, "factorizedReduce: input must be [N, C, H, W], got \(inputShape)")
        for weight in [firstWeight, secondWeight] {
            require(weight.count == 4 && weight[1] == inputShape[1] && weight[2] == 1 && weight[3] == 1,
                    "factorizedReduce: weight shape \(weight) is not a 1×1 kernel over \(inputShape[1]) channels")
        }
        batch = inputShape[0]; inChannels = inputShape[1]; height = inputShape[2]; width = inputShape[3]
        firstChannels = firstWeight[0]; secondChannels = secondWeight[0]
        outHeight = (height + 1) / 2; outWidth = (width + 1) / 2
    }

    /// The pixels (2i, 2j) of one sample, and (2i + 1, 2j + 1) or zero past
    /// the edge: the inputs of the two branches, `[Cin, Ho·Wo]` each.
    /// Wrapping arithmetic in the row loops (indices are bounded by the
    /// tensor's size) lets them vectorise; with overflow checks they ran one
    /// element at a time, 4–5 % of a demo-s3 weight step with the scatter.
    private func gatherColumns(_ sample: UnsafePointer<Scalar>, even: UnsafeMutablePointer<Scalar>, odd: UnsafeMutablePointer<Scalar>) {
        let oddColumns = width / 2  // the j with 2j + 1 < width
        for c in 0..<inChannels {
            let plane = sample + c * planeIn
            for i in 0..<outHeight {
                let evenRow = plane + 2 * i * width, target = c * planeOut + i * outWidth
                for j in 0..<outWidth { even[target &+ j] = evenRow[2 &* j] }
                guard 2 * i + 1 < height else {
                    (odd + target).update(repeating: 0, count: outWidth)
                    continue
                }
                let oddRow = plane + (2 * i + 1) * width + 1
                for j in 0..<oddColumns { odd[target &+ j] = oddRow[2 &* j] }
                for j in oddColumns..<outWidth { odd[target + j] = 0 }
            }
        }
    }

    func forward(input: Tensor<Scalar>, first: Tensor<Scalar>, second: Tensor<Scalar>) -> Tensor<Scalar> {
        Tensor(uninitializedShape: [batch, outChannels, outHeight, outWidth]) { out in
            input.scalars.withUnsafeBufferPointer { x in
                first.scalars.withUnsafeBufferPointer { w1 in
                    second.scalars.withUnsafeBufferPointer { w2 in
                        Parallelism.forEachChunk(of: batch, work: Int(multiplyAccumulates)) { samples in
                            let columns = UnsafeMutablePointer<Scalar>.allocate(capacity: 2 * inChannels * planeOut)
                            defer { columns.deallocate() }
                            let even = columns, odd = columns + inChannels * planeOut
                            let branches = [(w1, even, firstChannels, 0), (w2, odd, secondChannels, firstChannels)]
                            for n in samples {
                                gatherColumns(x.baseAddress! + n * inChannels * planeIn, even: even, odd: odd)
                                let target = out.baseAddress! + n * outChannels * planeOut
                                for (weights, source, channels, offset) in branches {
                                    Scalar.gemm(transposeA: false, transposeB: false, m: channels, n: planeOut, k: inChannels,
                                                alpha: 1, a: weights.baseAddress!, lda: inChannels, b: source, ldb: planeOut,
                                                beta: 0, c: target + offset * planeOut, ldc: planeOut)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Split over samples like a convolution's backward: each range of
    /// samples sums its own weight gradients, added up in range order.
    func backward(
        gradient: Tensor<Scalar>, input: Tensor<Scalar>, first: Tensor<Scalar>, second: Tensor<Scalar>,
        needInput: Bool, needWeights: Bool
    ) -> (input: Tensor<Scalar>?, first: Tensor<Scalar>?, second: Tensor<Scalar>?) {
        let work = Int(multiplyAccumulates) * ((needInput ? 1 : 0) + (needWeights ? 1 : 0))
        let ranges = Parallelism.chunks(of: batch, work: work)
        let weightCount = first.count + second.count
        var dx = needInput ? [Scalar](unfilledCount: input.count) : []
        var partials = needWeights ? [Scalar](repeating: 0, count: weightCount * ranges.count) : []
        input.scalars.withUnsafeBufferPointer { x in
            first.scalars.withUnsafeBufferPointer { w1 in
                second.scalars.withUnsafeBufferPointer { w2 in
                    gradient.scalars.withUnsafeBufferPointer { gy in
                        dx.withUnsafeMutableBufferPointer { dx in
                            partials.withUnsafeMutableBufferPointer { partials in
                                Parallelism.forEachChunk(of: batch, work: work) { samples in
                                    let columns = UnsafeMutablePointer<Scalar>.allocate(capacity: 2 * inChannels * planeOut)
                                    defer { columns.deallocate() }
                                    let even = columns, odd = columns + inChannels * planeOut
                                    let dw = needWeights ? partials.baseAddress! + ranges.firstIndex(of: samples)! * weightCount : nil
                                    let branches = [(w1, even, firstChannels, 0, 0), (w2, odd, secondChannels, firstChannels, first.count)]
                                    for n in samples {
                                        let g = gy.baseAddress! + n * outChannels * planeOut
                                        if let dw {
                                            gatherColumns(x.baseAddress! + n * inChannels * planeIn, even: even, odd: odd)
                                            // dW += gy_branch · columnsᵀ
                                            for (_, source, channels, offset, weightOffset) in branches {
                                                Scalar.gemm(transposeA: false, transposeB: true, m: channels, n: inChannels, k: planeOut,
                                                            alpha: 1, a: g + offset * planeOut, lda: planeOut, b: source, ldb: planeOut,
                                                            beta: 1, c: dw + weightOffset, ldc: inChannels)
                                            }
                                        }
                                        if needInput {
                                            // dcolumns = Wᵀ · gy_branch, scattered back to the pixels they came from.
                                            for (weights, target, channels, offset, _) in branches {
                                                Scalar.gemm(transposeA: true, transposeB: false, m: inChannels, n: planeOut, k: channels,
                                                            alpha: 1, a: weights.baseAddress!, lda: inChannels, b: g + offset * planeOut, ldb: planeOut,
                                                            beta: 0, c: target, ldc: planeOut)
                                            }
                                            scatterColumns(even: even, odd: odd, into: dx.baseAddress! + n * inChannels * planeIn)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dFirst: Tensor<Scalar>?, dSecond: Tensor<Scalar>?
        if needWeights {
            let sum = Parallelism.sumInChunkOrder(partials, length: weightCount)
            dFirst = Tensor(shape: [firstChannels, inChannels, 1, 1], scalars: Array(sum[0..<first.count]))
            dSecond = Tensor(shape: [secondChannels, inChannels, 1, 1], scalars: Array(sum[first.count...]))
        }
        return (needInput ? Tensor(shape: input.shape, scalars: dx) : nil, dFirst, dSecond)
    }

    /// The adjoint of `gatherColumns`: every pixel gets the column entry read
    /// from it, and pixels neither branch read get zero.
    private func scatterColumns(even: UnsafePointer<Scalar>, odd: UnsafePointer<Scalar>, into sample: UnsafeMutablePointer<Scalar>) {
        for c in 0..<inChannels {
            let plane = sample + c * planeIn
            plane.update(repeating: 0, count: planeIn)
            for i in 0..<outHeight {
                let source = c * planeOut + i * outWidth
                let evenRow = plane + 2 * i * width
                for j in 0..<outWidth { evenRow[2 &* j] = even[source &+ j] }
                guard 2 * i + 1 < height else { continue }
                let oddRow = plane + (2 * i + 1) * width
                for j in 0..<width / 2 { oddRow[2 &* j &+ 1] = odd[source &+ j] }
            }
        }
    }
}
