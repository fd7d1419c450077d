/// Running statistics of one batch-norm layer (PyTorch's `running_mean`,
/// `running_var`, `num_batches_tracked` buffers).
public final class BatchNormStatistics<Scalar: TensorScalar> {
    public var runningMean: Tensor<Scalar>
    public var runningVariance: Tensor<Scalar>
    public var batchesTracked: Int = 0
    public let momentum: Double

    public init(channels: Int, momentum: Double = 0.1) {
        runningMean = Tensor(zeros: [channels])
        runningVariance = Tensor(repeating: 1, shape: [channels])
        self.momentum = momentum
    }

    public var channels: Int { runningMean.count }

    /// Back to a fresh layer's statistics (mean 0, variance 1, nothing tracked).
    public func reset() {
        runningMean = Tensor(zeros: runningMean.shape)
        runningVariance = Tensor(repeating: 1, shape: runningVariance.shape)
        batchesTracked = 0
    }
}

/// Which statistics batch norm normalises with.
public enum BatchNormMode: Sendable {
    /// Batch statistics; running statistics are updated (an ordinary training step).
    case training
    /// Batch statistics, running statistics left alone: the extra passes of a
    /// Hessian-vector product or a frozen Λ-DARTS difference must see the same
    /// function as the base pass and must not leave a trace.
    case batchStatistics
    /// Running statistics (evaluation).
    case evaluation
    /// Batch statistics; the running statistics become the plain average over
    /// the batches seen since they were reset (PyTorch's `momentum=None`):
    /// re-estimating them for a network the running ones were not gathered on.
    case cumulative
}

extension Variable {
    /// Batch norm over `[N, C, H, W]` (or `[N, C]`) per channel, ε = 1e-5 as in
    /// PyTorch. `scale`/`shift` are the affine γ, β (absent when affine=false).
    /// Statistics are accumulated in Double; the running variance is updated
    /// with the unbiased batch variance, as PyTorch does.
    public func batchNorm(
        statistics: BatchNormStatistics<Scalar>, mode: BatchNormMode,
        scale: Variable? = nil, shift: Variable? = nil, epsilon: Double = 1e-5
    ) -> Variable {
        require(shape.count == 4 || shape.count == 2, "batchNorm: input must be [N, C, H, W] or [N, C], got \(shape)")
        let batch = shape[0], channels = shape[1]
        let plane = shape.count == 4 ? shape[2] * shape[3] : 1
        require(statistics.channels == channels, "batchNorm: input shape \(shape) has \(channels) channels, statistics have \(statistics.channels)")
        if let scale { require(scale.shape == [channels], "batchNorm: scale shape \(scale.shape) vs channels [\(channels)]") }
        if let shift { require(shift.shape == [channels], "batchNorm: shift shape \(shift.shape) vs channels [\(channels)]") }
        let perChannel = batch * plane

        var mean = [Double](repeating: 0, count: channels)
        var inverseStd = [Double](repeating: 0, count: channels)
        let x = value.scalars
        switch mode {
        case .evaluation:
            for c in 0..<channels {
                mean[c] = Double(statistics.runningMean.scalars[c])
                inverseStd[c] = 1 / (Double(statistics.runningVariance.scalars[c]) + epsilon).squareRoot()
            }
        case .training, .batchStatistics, .cumulative:
            require(perChannel > 1 || mode == .batchStatistics, "batchNorm: need more than one value per channel in training mode, got input shape \(shape)")
            // One pass over memory: each plane's sum, then its squared
            // deviations from its own mean a_p while the plane is still in L1
            // (in Scalar, eight-way sums); per channel, in Double and sample
            // order, Σ(x − μ)² = Σ_p [M2_p(a_p) + 2(a_p − μ)(S_p − n·a_p) + n(a_p − μ)²]
            // (Chan et al.'s pairwise combination, exact for any a_p). Chunks
            // are planes: a cell has as few as 8 channels, too few chunks to
            // keep two threads evenly busy.
            let moments = x.withUnsafeBufferPointer { x in
                Parallelism.map(batch * channels, work: 2 * batch * channels * plane) { p -> (sum: Double, center: Double, squares: Double) in
                    let start = x.baseAddress! + p * plane
                    let sum = Scalar.planeKernels.sum(start, count: plane), center = sum / Scalar(plane)
                    return (Double(sum), Double(center), Double(Scalar.planeKernels.squaredDeviation(start, from: center, count: plane)))
                }
            }
            mean = Self.channelTotals(moments.map(\.sum), channels: channels).map { $0 / Double(perChannel) }
            let n = Double(plane)
            let squares = Self.channelTotals(moments.enumerated().map { p, m in
                let offset = m.center - mean[p % channels]
                return m.squares + 2 * offset * (m.sum - n * m.center) + n * offset * offset
            }, channels: channels)
            inverseStd = squares.map { 1 / ($0 / Double(perChannel) + epsilon).squareRoot() }
            let unbiasedVariance = squares.map { perChannel > 1 ? $0 / Double(perChannel - 1) : $0 / Double(perChannel) }
            if mode == .training || mode == .cumulative {
                let r = mode == .training ? statistics.momentum : 1 / Double(statistics.batchesTracked + 1)
                for c in 0..<channels {
                    statistics.runningMean.scalars[c] = Scalar((1 - r) * Double(statistics.runningMean.scalars[c]) + r * mean[c])
                    statistics.runningVariance.scalars[c] = Scalar((1 - r) * Double(statistics.runningVariance.scalars[c]) + r * unbiasedVariance[c])
                }
                statistics.batchesTracked += 1
            }
        }

        let gamma = scale?.value.scalars
        let beta = shift?.value.scalars
        // x̂ = (x − μ)·σ⁻¹, y = γ·x̂ + β
        let normalized = Tensor<Scalar>(uninitializedShape: shape) { out in
            x.withUnsafeBufferPointer { x in
                Parallelism.forEachChunk(of: batch * channels, work: batch * channels * plane) { planes in
                    for p in planes {
                        let c = p % channels, base = p * plane
                        Scalar.planeKernels.shiftAndScale(x.baseAddress! + base, count: plane, shift: Scalar(mean[c]),
                                                          scale: Scalar(inverseStd[c]), into: out.baseAddress! + base)
                    }
                }
            }
        }
        var output = normalized
        if gamma != nil || beta != nil {
            output.scalars.withUnsafeMutableBufferPointer { out in
                for n in 0..<batch {
                    for c in 0..<channels {
                        let base = (n * channels + c) * plane
                        let g = gamma?[c] ?? 1, b = beta?[c] ?? 0
                        for i in 0..<plane { out[base + i] = out[base + i] * g + b }
                    }
                }
            }
        }
        var inputs: [Variable] = [self]
        if let scale { inputs.append(scale) }
        if let shift { inputs.append(shift) }
        return tape.record(output, kind: .batchNorm, inputs: inputs) { [self] gradient in
            // Per-channel Σ g and Σ g·x̂ serve γ, β and the input gradient alike.
            let planeSums = gradient.scalars.withUnsafeBufferPointer { g in
                normalized.scalars.withUnsafeBufferPointer { xhat in
                    Parallelism.map(batch * channels, work: 2 * batch * channels * plane) { p in
                        (Double(Scalar.planeKernels.sum(g.baseAddress! + p * plane, count: plane)),
                         Double(Scalar.planeKernels.dot(g.baseAddress! + p * plane, xhat.baseAddress! + p * plane, count: plane)))
                    }
                }
            }
            let sumGradient = Self.channelTotals(planeSums.map(\.0), channels: channels)
            let sumGradientNormalized = Self.channelTotals(planeSums.map(\.1), channels: channels)
            if let scale, scale.requiresGrad {
                scale.accumulateGradient(Tensor(shape: [channels], scalars: sumGradientNormalized.map { Scalar($0) }))
            }
            if let shift, shift.requiresGrad {
                shift.accumulateGradient(Tensor(shape: [channels], scalars: sumGradient.map { Scalar($0) }))
            }
            guard requiresGrad else { return }
            let dx = Tensor<Scalar>(uninitializedShape: shape) { out in
                gradient.scalars.withUnsafeBufferPointer { g in
                    normalized.scalars.withUnsafeBufferPointer { xhat in
                        Parallelism.forEachChunk(of: batch * channels, work: batch * channels * plane) { planes in
                            for p in planes {
                                let c = p % channels, base = p * plane
                                let factor = Scalar(Double(gamma?[c] ?? 1) * inverseStd[c])
                                if mode == .evaluation {
                                    for i in 0..<plane { out[base + i] = g[base + i] * factor }
                                } else {
                                    // dx = γσ⁻¹ (g − mean(g) − x̂·mean(g·x̂))
                                    let meanG = Scalar(sumGradient[c] / Double(perChannel))
                                    let meanGX = Scalar(sumGradientNormalized[c] / Double(perChannel))
                                    Scalar.planeKernels.batchNormInputGradient(
                                        g.baseAddress! + base, normalized: xhat.baseAddress! + base, count: plane,
                                        factor: factor, meanG: meanG, meanGX: meanGX, into: out.baseAddress! + base)
                                }
                            }
                        }
                    }
                }
            }
            accumulateGradient(dx)
        }
    }

    /// Per-channel sums of per-plane values (`[N, C]` order), over the
    /// samples in order, so the bits do not depend on how planes were chunked.
    private static func channelTotals(_ planeValues: [Double], channels: Int) -> [Double] {
        var totals = [Double](repeating: 0, count: channels)
        for (p, value) in planeValues.enumerated() { totals[p % channels] += value }
        return totals
    }
}
