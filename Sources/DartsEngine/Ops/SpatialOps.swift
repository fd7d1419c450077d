/// Channel concatenation, the shifted view of FactorizedReduce, and the
/// `none` op's zeros.
extension Variable {
    /// Concatenates `[N, Cᵢ, H, W]` inputs along the channel axis.
    public static func concatenateChannels(_ parts: [Variable]) -> Variable {
        require(!parts.isEmpty, "concatenateChannels: no inputs")
        let first = parts[0].shape
        require(first.count == 4, "concatenateChannels: inputs must be [N, C, H, W], got \(first)")
        for part in parts {
            require(
                part.shape.count == 4 && part.shape[0] == first[0] && part.shape[2] == first[2] && part.shape[3] == first[3],
                "concatenateChannels: shape mismatch \(first) vs \(part.shape)")
        }
        let batch = first[0], plane = first[2] * first[3]
        let channels = parts.map { $0.shape[1] }
        let total = channels.reduce(0, +)
        let offsets = channels.reduce(into: [0]) { $0.append($0.last! + $1) }
        let output = Tensor<Scalar>(uninitializedShape: [batch, total, first[2], first[3]]) { out in
            for (index, part) in parts.enumerated() {
                part.value.scalars.withUnsafeBufferPointer { x in
                    for n in 0..<batch {
                        let src = x.baseAddress! + n * channels[index] * plane
                        let dst = out.baseAddress! + (n * total + offsets[index]) * plane
                        dst.update(from: src, count: channels[index] * plane)
                    }
                }
            }
        }
        return parts[0].tape.record(output, kind: .memory, inputs: parts) { gradient in
            gradient.scalars.withUnsafeBufferPointer { g in
                for (index, part) in parts.enumerated() where part.requiresGrad {
                    let slice = Tensor<Scalar>(uninitializedShape: part.shape) { dx in
                        for n in 0..<batch {
                            let src = g.baseAddress! + (n * total + offsets[index]) * plane
                            (dx.baseAddress! + n * channels[index] * plane).update(from: src, count: channels[index] * plane)
                        }
                    }
                    part.accumulateGradient(slice)
                }
            }
        }
    }

    /// `y[i, j] = x[i + 1, j + 1]`, zero beyond the last row and column.
    ///
    /// FactorizedReduce's second branch reads the input shifted by one pixel
    /// (`x[:, :, 1:, 1:]` in the reference). Keeping the input's size and
    /// filling with zeros gives the same stride-2 result for even sizes and
    /// stays well-defined for odd ones, where the plain slice would make the
    /// two branches disagree in size.
    public func shiftedByOnePixel() -> Variable {
        require(shape.count == 4, "shiftedByOnePixel: input must be [N, C, H, W], got \(shape)")
        let planes = shape[0] * shape[1], height = shape[2], width = shape[3]
        let output = Tensor<Scalar>(uninitializedShape: shape) { out in
            out.initialize(repeating: 0)
            value.scalars.withUnsafeBufferPointer { x in
                for p in 0..<planes {
                    for i in 0..<(height - 1) {
                        for j in 0..<(width - 1) {
                            out[(p * height + i) * width + j] = x[(p * height + i + 1) * width + j + 1]
                        }
                    }
                }
            }
        }
        return tape.record(output, kind: .memory, inputs: [self]) { [self] gradient in
            var dx = Tensor<Scalar>(zeros: shape)
            dx.scalars.withUnsafeMutableBufferPointer { dx in
                gradient.scalars.withUnsafeBufferPointer { g in
                    for p in 0..<planes {
                        for i in 0..<(height - 1) {
                            for j in 0..<(width - 1) {
                                dx[(p * height + i + 1) * width + j + 1] = g[(p * height + i) * width + j]
                            }
                        }
                    }
                }
            }
            accumulateGradient(dx)
        }
    }

    /// The `none` op: zeros of the shape `x[:, :, ::stride, ::stride]` has.
    /// A constant, so it costs nothing in the backward pass.
    public func zeros(stride: Int) -> Variable {
        require(shape.count == 4, "zeros: input must be [N, C, H, W], got \(shape)")
        require(stride >= 1, "zeros: stride must be ≥ 1, got \(stride)")
        let outShape = [shape[0], shape[1], (shape[2] + stride - 1) / stride, (shape[3] + stride - 1) / stride]
        return tape.constant(Tensor(zeros: outShape))
    }
}

extension Tape {
    /// Standard normal noise of the given shape, drawn from `generator` (the
    /// S4 `noise` op). Passes that must see the same noise use generators in
    /// the same state.
    public func gaussianNoise(shape: [Int], generator: inout RandomGenerator) -> Variable<Scalar> {
        let count = shape.elementCount
        let noise = Tensor<Scalar>(uninitializedShape: shape) { out in
            for i in 0..<count { out[i] = Scalar(generator.nextStandardNormal()) }
        }
        return constant(noise)
    }
}
