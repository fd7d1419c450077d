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
            argmax = [Int32](unsafeUninitializedCapacity: outCount) { best, initialized in
                value.scalars.withUnsafeBufferPointer { x in
                    for p in 0..<planes {
                        let base = p * height * width
                        for oh in 0..<outHeight {
                            let rows = geometry.window(oh, length: height)
                            for ow in 0..<outWidth {
                                let cols = geometry.window(ow, length: width)
                                var bestIndex = base + rows.lowerBound * width + cols.lowerBound
                                var bestValue = x[bestIndex]
                                for ih in rows {
                                    for iw in cols where x[base + ih * width + iw] > bestValue {
                                        bestIndex = base + ih * width + iw
                                        bestValue = x[bestIndex]
                                    }
                                }
                                best[(p * outHeight + oh) * outWidth + ow] = Int32(bestIndex)
                            }
                        }
                    }
                }
                initialized = outCount
            }
            if case .record(let patterns) = tape.patternMode { patterns.append(.poolArgmax(argmax)) }
        }
        let output = Tensor<Scalar>(uninitializedShape: outShape) { out in
            value.scalars.withUnsafeBufferPointer { x in
                for i in 0..<outCount { out[i] = x[Int(argmax[i])] }
            }
        }
        return tape.record(output, kind: .pooling, inputs: [self]) { [self] gradient in
            var dx = Tensor<Scalar>(zeros: shape)
            dx.scalars.withUnsafeMutableBufferPointer { dx in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for i in 0..<outCount { dx[Int(argmax[i])] += g[i] }
                }
            }
            accumulateGradient(dx)
        }
    }

    /// Average pooling that divides by the number of in-bounds elements
    /// (PyTorch `count_include_pad=False`, as DARTS uses).
    public func averagePool(_ geometry: PoolingGeometry) -> Variable {
        require(shape.count == 4, "averagePool: input must be [N, C, H, W], got \(shape)")
        let planes = shape[0] * shape[1], height = shape[2], width = shape[3]
        let outHeight = geometry.outputLength(height), outWidth = geometry.outputLength(width)
        require(outHeight > 0 && outWidth > 0, "averagePool: input shape \(shape) too small for window \(geometry.kernelSize)")
        let outShape = [shape[0], shape[1], outHeight, outWidth]
        let output = Tensor<Scalar>(uninitializedShape: outShape) { out in
            value.scalars.withUnsafeBufferPointer { x in
                for p in 0..<planes {
                    let base = p * height * width
                    for oh in 0..<outHeight {
                        let rows = geometry.window(oh, length: height)
                        for ow in 0..<outWidth {
                            let cols = geometry.window(ow, length: width)
                            var sum: Scalar = 0
                            for ih in rows { for iw in cols { sum += x[base + ih * width + iw] } }
                            out[(p * outHeight + oh) * outWidth + ow] = sum / Scalar(rows.count * cols.count)
                        }
                    }
                }
            }
        }
        return tape.record(output, kind: .pooling, inputs: [self]) { [self] gradient in
            var dx = Tensor<Scalar>(zeros: shape)
            dx.scalars.withUnsafeMutableBufferPointer { dx in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for p in 0..<planes {
                        let base = p * height * width
                        for oh in 0..<outHeight {
                            let rows = geometry.window(oh, length: height)
                            for ow in 0..<outWidth {
                                let cols = geometry.window(ow, length: width)
                                let share = g[(p * outHeight + oh) * outWidth + ow] / Scalar(rows.count * cols.count)
                                for ih in rows { for iw in cols { dx[base + ih * width + iw] += share } }
                            }
                        }
                    }
                }
            }
            accumulateGradient(dx)
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
