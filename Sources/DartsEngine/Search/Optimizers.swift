/// PyTorch's SGD with momentum and L2 (`torch.optim.SGD`): d = g + λw,
/// b ← μb + d (b = d on the first step), w ← w − η b.
public struct MomentumSGD: Codable, Sendable, Equatable {
    public internal(set) var buffers: [String: [Float]] = [:]

    public init() {}

    public mutating func step(
        _ weights: inout [String: Tensor<Float>], gradients: [String: Tensor<Float>],
        learningRate: Double, momentum: Double, weightDecay: Double
    ) {
        let lr = Float(learningRate), mu = Float(momentum), decay = Float(weightDecay)
        for (name, gradient) in gradients {
            guard var weight = weights[name] else { continue }
            var buffer = buffers[name] ?? []
            let fresh = buffer.isEmpty
            if fresh { buffer = [Float](repeating: 0, count: weight.count) }
            weight.scalars.withUnsafeMutableBufferPointer { w in
                gradient.scalars.withUnsafeBufferPointer { g in
                    buffer.withUnsafeMutableBufferPointer { b in
                        for i in 0..<w.count {
                            let d = g[i] + decay * w[i]
                            b[i] = fresh ? d : mu * b[i] + d
                            w[i] -= lr * b[i]
                        }
                    }
                }
            }
            weights[name] = weight
            buffers[name] = buffer
        }
    }
}

/// PyTorch's Adam with L2 added to the gradient (`torch.optim.Adam` with
/// weight_decay), as DARTS optimises α.
public struct Adam: Codable, Sendable, Equatable {
    public internal(set) var firstMoments: [String: [Float]] = [:]
    public internal(set) var secondMoments: [String: [Float]] = [:]
    public internal(set) var stepCount = 0

    public init() {}

    public mutating func step(
        _ parameters: inout [String: Tensor<Float>], gradients: [String: Tensor<Float>],
        learningRate: Double, beta1: Double, beta2: Double, weightDecay: Double, epsilon: Double = 1e-8
    ) {
        stepCount += 1
        let correction1 = 1 - Double.pow(beta1, Double(stepCount))
        let correction2 = 1 - Double.pow(beta2, Double(stepCount))
        let stepSize = Float(learningRate / correction1)
        let b1 = Float(beta1), b2 = Float(beta2), decay = Float(weightDecay)
        let rootCorrection2 = Float(correction2.squareRoot()), eps = Float(epsilon)
        for (name, gradient) in gradients {
            guard var value = parameters[name] else { continue }
            var m = firstMoments[name] ?? [Float](repeating: 0, count: value.count)
            var v = secondMoments[name] ?? [Float](repeating: 0, count: value.count)
            for i in 0..<value.count {
                let g = gradient.scalars[i] + decay * value.scalars[i]
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                value.scalars[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
            }
            parameters[name] = value
            firstMoments[name] = m
            secondMoments[name] = v
        }
    }
}

/// The L2 norm of all `tensors` together, summed in a fixed (name) order:
/// dictionary order varies between instances, and a different summation
/// order changes the last bits.
public func globalNorm(_ tensors: [String: Tensor<Float>]) -> Double {
    tensors.keys.sorted().reduce(0.0) { $0 + tensors[$1]!.squaredNorm }.squareRoot()
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`
/// (`clip_grad_norm_`); returns the norm before clipping and the factor applied.
@discardableResult
public func clipGlobalNorm(_ gradients: inout [String: Tensor<Float>], maxNorm: Double) -> (norm: Double, factor: Double) {
    let norm = globalNorm(gradients)
    let factor = min(1, maxNorm / (norm + 1e-6))
    if factor < 1 {
        for name in Array(gradients.keys) { gradients[name]!.scale(by: Float(factor)) }
    }
    return (norm, factor)
}

/// DARTS's cosine annealing of the weight learning rate over the epochs
/// (`CosineAnnealingLR(T_max = epochs, eta_min)`), evaluated at an epoch.
public func cosineLearningRate(epoch: Int, epochs: Int, initial: Double, minimum: Double) -> Double {
    minimum + (initial - minimum) * (1 + Double.cos(Double.pi * Double(epoch) / Double(max(epochs, 1)))) / 2
}

import RealModule
