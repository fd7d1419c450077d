/// Window geometry shared by max and average pooling (square window).
public struct PoolingGeometry: Hashable, Sendable {
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int

    public init(kernelSize: Int = 3, stride: Int, padding: Int = 1) {
        require(kernelSize >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernelSize,
                     "pool: invalid geometry k=\(kernelSize) s=\(stride) p=\(padding)")
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
    }

    public func outputLength(_ length: Int) -> Int { (length + 2 * padding - kernelSize) / stride + 1 }

    /// The clipped window `[start, end)` of output position `o` along an axis of length `length`.
    func window(_ o: Int, length: Int) -> Range<Int> {
        let start = o * stride - padding
        return max(start, 0)..<min(start + kernelSize, length)
    }
}

extension Variable {
    /// Max pooling; padding never wins (PyTorch pads with −∞). Records or
    /// replays the chosen element of every window (the argmax) according to the
    /// tape's ``PatternMode``.
    public func maxPool(_ geometry: PoolingGeometry) -> Variable {
        require(shape.count == 4, "maxPool: input must be [N, C, H, W], got \(shape)")
        let planes = shape[0] * shape[1], height = shape[2], width = shape[3]
        let outHeight = geometry.outputLength(height), outWidth = geometry.outputLength(width)
        require(outHeight > 0 && outWidth > 0, "maxPool: input shape \(shape) too small for window \(geometry.kernelSize)")
        let outShape = [shape[0], shape[1], outHeight, outWidth]
        let outCount = outShape.elementCount
        let argmax: [Int32]
        switch tape.patternMode {
        case .replay(let patterns):
            argmax = patterns.nextPoolArgmax(count: outCount, op: "maxPool")
        case .free, .record:
            argmax = maxPoolArgmax(geometry, outHeight: outHeight, outWidth: outWidth)
            if case .record(let patterns) = tape.patternMode { patterns.append(.poolArgmax(argmax)) }
        }
        let planeOut = outHeight * outWidth
        let output = Tensor<Scalar>(uninitializedShape: outShape) { out in
            value.scalars.withUnsafeBufferPointer { x in
                argmax.withUnsafeBufferPointer { argmax in
                    Parallelism.forEachChunk(of: planes, work: outCount) { range in
                        for i in (range.lowerBound * planeOut)..<(range.upperBound * planeOut) { out[i] = x[Int(argmax[i])] }
                    }
                }
            }
        }
        return tape.record(output, kind: .pooling, inputs: [self]) { [self] gradient in
            var dx = Tensor<Scalar>(zeros: shape)
            dx.scalars.withUnsafeMutableBufferPointer { dx in
                gradient.scalars.withUnsafeBufferPointer { g in
                    // A plane's argmax positions lie in that plane: chunks of planes never collide.
                    Parallelism.forEachChunk(of: planes, work: outCount) { range in
                        for i in (range.lowerBound * planeOut)..<(range.upperBound * planeOut) { dx[Int(argmax[i])] += g[i] }
                    }
                }
            }
            accumulateGradient(dx)
        }
    }

    /// Average pooling that divides by the number of in-bounds elements
    /// (PyTorch `count_include_pad=False`, as DARTS uses).
    public func averagePool(_ geometry: PoolingGeometry) -> Variable {
        require(shape.count == 4, "averagePool: input must be [N, C, H, W], got \(shape)")
        let height = shape[2], width = shape[3]
        let outHeight = geometry.outputLength(height), outWidth = geometry.outputLength(width)
        require(outHeight > 0 && outWidth > 0, "averagePool: input shape \(shape) too small for window \(geometry.kernelSize)")
        // The window sums are a depthwise convolution with all-ones kernels
        // (zero padding adds nothing), divided by each window's in-bounds count.
        let channels = shape[1]
        let kernel = ConvolutionKernel<Scalar>(
            inputShape: shape, weightShape: [channels, 1, geometry.kernelSize, geometry.kernelSize],
            geometry: ConvolutionGeometry(kernelSize: geometry.kernelSize, stride: geometry.stride, padding: geometry.padding, groups: channels))
        let ones = Tensor<Scalar>(repeating: 1, shape: [channels, 1, geometry.kernelSize, geometry.kernelSize])
        let reciprocals: [Scalar] = (0..<outHeight).flatMap { oh in
            (0..<outWidth).map { ow in 1 / Scalar(geometry.window(oh, length: height).count * geometry.window(ow, length: width).count) }
        }
        var output = kernel.forward(input: value, weight: ones)
        output.scaleEachPlane(by: reciprocals)
        return tape.record(output, kind: .pooling, inputs: [self]) { [self] gradient in
            var shares = gradient
            shares.scaleEachPlane(by: reciprocals)
            let (dx, _) = kernel.backward(gradient: shares, input: value, weight: ones, needInput: true, needWeight: false)
            accumulateGradient(dx!)
        }
    }

    /// Mean over the spatial axes: `[N, C, H, W]` → `[N, C]`.
    public func globalAveragePool() -> Variable {
        require(shape.count == 4, "globalAveragePool: input must be [N, C, H, W], got \(shape)")
        let planes = shape[0] * shape[1], plane = shape[2] * shape[3]
        let output = Tensor<Scalar>(uninitializedShape: [shape[0], shape[1]]) { out in
            value.scalars.withUnsafeBufferPointer { x in
                for p in 0..<planes {
                    var sum = 0.0
                    for i in 0..<plane { sum += Double(x[p * plane + i]) }
                    out[p] = Scalar(sum / Double(plane))
                }
            }
        }
        return tape.record(output, kind: .pooling, inputs: [self]) { [self] gradient in
            let dx = Tensor<Scalar>(uninitializedShape: shape) { dx in
                for p in 0..<planes {
                    let share = gradient.scalars[p] / Scalar(plane)
                    for i in 0..<plane { dx[p * plane + i] = share }
                }
            }
            accumulateGradient(dx)
        }
    }
}

extension Variable {
    /// The argmax of every max-pooling window as a flat input index: each
    /// plane is copied into a −∞-bordered plane (padding never wins) and
    /// scanned by a vectorised kernel; chunks of planes run in parallel.
    func maxPoolArgmax(_ geometry: PoolingGeometry, outHeight: Int, outWidth: Int) -> [Int32] {
        let planes = shape[0] * shape[1], height = shape[2], width = shape[3]
        let border = PlaneBorder(height: height, width: width, padding: geometry.padding)
        let k = geometry.kernelSize, s = geometry.stride, planeOut = outHeight * outWidth
        let pitch = border.pitch
        // The stride-1 maxima in the padded pitch (columns past the output
        // width are scratch); a stride reads every s-th of them.
        let span = border.stride1Span(kernelSize: k, dilation: 1)
        // Each bordered position's offset in the input plane, −1 on the
        // border: one look-up per window instead of a division and a remainder.
        let planeOffsets: [Int32] = (0..<border.count).map { q in
            let row = q / pitch - geometry.padding, column = q % pitch - geometry.padding
            return (0..<height).contains(row) && (0..<width).contains(column) ? Int32(row * width + column) : -1
        }
        return [Int32](unsafeUninitializedCapacity: planes * planeOut) { best, initialized in
            value.scalars.withUnsafeBufferPointer { x in
                Parallelism.forEachChunk(of: planes, work: planes * planeOut * k * k) { range in
                    let padded = UnsafeMutablePointer<Scalar>.allocate(capacity: border.count)
                    let maxima = UnsafeMutablePointer<Scalar>.allocate(capacity: span)
                    let positions = UnsafeMutablePointer<Int32>.allocate(capacity: span)
                    defer { padded.deallocate(); maxima.deallocate(); positions.deallocate() }
                    for plane in range {
                        let base = plane * height * width
                        border.copy(x.baseAddress! + base, into: padded, filling: -.infinity)
                        Scalar.planeKernels.windowMaxima(padded, pitch: pitch, kernelSize: k, into: maxima, positions: positions, count: span)
                        for oh in 0..<outHeight {
                            for ow in 0..<outWidth {
                                var offset = Int(planeOffsets[Int(positions[s &* (oh &* pitch &+ ow)])])
                                if offset < 0 {
                                    // Only when every in-bounds value is −∞ (or NaN): take the first in-bounds one.
                                    offset = geometry.window(oh, length: height).lowerBound * width
                                        + geometry.window(ow, length: width).lowerBound
                                }
                                best[plane &* planeOut &+ oh &* outWidth &+ ow] = Int32(base + offset)
                            }
                        }
                    }
                }
            }
            initialized = planes * planeOut
        }
    }
}

extension Tensor {
    /// Multiplies every plane (a contiguous run of `factors.count` scalars) by `factors` elementwise.
    fileprivate mutating func scaleEachPlane(by factors: [Scalar]) {
        let plane = factors.count
        scalars.withUnsafeMutableBufferPointer { x in
            factors.withUnsafeBufferPointer { f in
                for start in stride(from: 0, to: x.count, by: plane) {
                    for i in 0..<plane { x[start + i] *= f[i] }
                }
            }
        }
    }
}
