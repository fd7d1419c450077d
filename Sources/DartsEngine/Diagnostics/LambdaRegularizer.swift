/// The Λ-DARTS regulariser (Movahedi et al., ICLR 2023; DESIGN §4): a weight
/// update that increases the agreement between the cells' gradients Λ_l.
public enum LambdaVariant: String, Codable, Sendable, CaseIterable {
    /// The gradient of the summed pairwise cosine.
    case corr
    /// The sign-weighted correlation of the reference code.
    case signcorr
}

/// How the ± passes of the difference quotient are run.
public enum LambdaDifferenceMode: String, Codable, Sendable, CaseIterable {
    /// As published: ordinary training-mode passes (activation pattern
    /// recomputed, BN running statistics updated, as the reference does).
    case reference
    /// The ± passes replay the base pass's activation pattern with batch-
    /// statistics BN: the quotient is then the exact directional derivative.
    case frozen
}

public enum LambdaRegularizer {
    /// The perturbation d_l for every cell (nil for reduction cells, which
    /// the reference leaves unperturbed), from the normal cells' Λ_l.
    /// `corr`: d_l = c·(1/‖g_l‖)(I − u_l u_lᵀ) s with u_l = g_l/‖g_l‖,
    /// s = Σ u_l, c = 1/(L(L−1)/2). `signcorr`: d_i = c·Σ_{j≠i} (1 −
    /// (g_i·g_j)/(|g_i|·|g_j|) sign(g_i)⊙sign(g_j)) ⊙ g_j/(|g_i|·|g_j|), where
    /// |g_i|·|g_j| is the dot product of absolute values.
    public static func perturbation<Scalar: TensorScalar>(
        layerGradients: [Tensor<Scalar>], normalCells: [Int], variant: LambdaVariant
    ) -> [Tensor<Scalar>?] {
        var result = [Tensor<Scalar>?](repeating: nil, count: layerGradients.count)
        let count = normalCells.count
        guard count >= 2 else { return result }
        let c = 1 / Double(count * (count - 1) / 2)
        let g = normalCells.map { layerGradients[$0].scalars.map(Double.init) }
        let size = g[0].count
        switch variant {
        case .corr:
            let norms = g.map { max($0.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-30) }
            let u = zip(g, norms).map { v, n in v.map { $0 / n } }
            let s = (0..<size).map { k in u.reduce(0) { $0 + $1[k] } }
            for (index, cell) in normalCells.enumerated() {
                let projection = zip(u[index], s).reduce(0) { $0 + $1.0 * $1.1 }
                let d = (0..<size).map { k in c / norms[index] * (s[k] - u[index][k] * projection) }
                result[cell] = Tensor(shape: layerGradients[cell].shape, scalars: d.map { Scalar($0) })
            }
        case .signcorr:
            for i in 0..<count {
                var d = [Double](repeating: 0, count: size)
                for j in 0..<count where j != i {
                    let absoluteDot = max((0..<size).reduce(0) { $0 + abs(g[i][$1]) * abs(g[j][$1]) }, 1e-30)
                    let plainDot = (0..<size).reduce(0) { $0 + g[i][$1] * g[j][$1] }
                    for k in 0..<size {
                        let signs = sign(g[i][k]) * sign(g[j][k])
                        d[k] += c * (1 - plainDot / absoluteDot * signs) * g[j][k] / absoluteDot
                    }
                }
                result[normalCells[i]] = Tensor(shape: layerGradients[normalCells[i]].shape, scalars: d.map { Scalar($0) })
            }
        }
        return result
    }

    private static func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}

extension Supernet {
    /// The regulariser's weight-gradient direction (G⁺ − G⁻)/(2ε) with
    /// G± = ∇w L(w; p_l ∓ ε d_l) and ε = ε0/‖concat(d)‖, on the batch of the
    /// base pass. `generator` is the state the base pass started from (same
    /// drop-path masks and noise); `patterns` is the base pass's activation
    /// pattern (frozen mode). Returns nil when no cell has a perturbation.
    public func lambdaCorrection(
        input: Tensor<Scalar>, labels: [Int], perturbation: [Tensor<Scalar>?], epsilon0: Double,
        mode: LambdaDifferenceMode, patterns: ActivationPatterns?, dropPathProbability: Double, generator: RandomGenerator
    ) -> (correction: [String: Tensor<Scalar>], epsilon: Double)? {
        let norm = perturbation.reduce(0.0) { $0 + ($1?.squaredNorm ?? 0) }.squareRoot()
        guard norm > 0 else { return nil }
        let epsilon = epsilon0 / norm
        func gradient(_ sign: Double) -> [String: Tensor<Scalar>] {
            let offsets: [Tensor<Scalar>?] = perturbation.map { d in
                d.map { var offset = $0; offset.scale(by: Scalar(sign * epsilon)); return offset }
            }
            let tape = Tape<Scalar>(patternMode: mode == .frozen ? patterns.map(PatternMode.replay) ?? .free : .free)
            var passGenerator = generator
            let pass = forward(input, on: tape, batchNormMode: mode == .frozen ? .batchStatistics : .training,
                               alphasRequireGradient: false, mixingOffsets: offsets,
                               dropPathProbability: dropPathProbability, generator: &passGenerator)
            tape.backward(from: pass.logits.crossEntropy(labels: labels))
            return pass.weights.compactMapValues(\.grad)
        }
        let plus = gradient(-1), minus = gradient(1)  // G⁺ at p − εd, G⁻ at p + εd
        var correction: [String: Tensor<Scalar>] = [:]
        for (name, g) in plus {
            var difference = g
            if let other = minus[name] { difference.add(other, scaledBy: -1) }
            difference.scale(by: Scalar(1 / (2 * epsilon)))
            correction[name] = difference
        }
        return (correction, epsilon)
    }

    /// Cells that are not reduction cells: the ones Λ-DARTS aligns.
    public var normalCells: [Int] { (0..<shape.layers).filter { !isReduction(cell: $0) } }
}
