/// Channel concatenation and the `none` op's zeros.
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
        // Copies run in parallel chunks of samples (a cell's output is the
        // largest tensor of its step; one thread alone left the other idle).
        let output = Tensor<Scalar>(uninitializedShape: [batch, total, first[2], first[3]]) { out in
            for (index, part) in parts.enumerated() {
                part.value.scalars.withUnsafeBufferPointer { x in
                    Parallelism.forEachChunk(of: batch, work: batch * channels[index] * plane) { samples in
                        for n in samples {
                            let src = x.baseAddress! + n * channels[index] * plane
                            let dst = out.baseAddress! + (n * total + offsets[index]) * plane
                            dst.update(from: src, count: channels[index] * plane)
                        }
                    }
                }
            }
        }
        return parts[0].tape.record(output, kind: .memory, inputs: parts) { gradient in
            gradient.scalars.withUnsafeBufferPointer { g in
                for (index, part) in parts.enumerated() where part.requiresGrad {
                    let slice = Tensor<Scalar>(uninitializedShape: part.shape) { dx in
                        Parallelism.forEachChunk(of: batch, work: batch * channels[index] * plane) { samples in
                            for n in samples {
                                let src = g.baseAddress! + (n * total + offsets[index]) * plane
                                (dx.baseAddress! + n * channels[index] * plane).update(from: src, count: channels[index] * plane)
                            }
                        }
                    }
                    part.accumulateGradient(slice)
                }
            }
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
