/// Agreement between the cells' gradients with respect to their own copies of
/// the mixing weights (Λ-DARTS, DESIGN §4): Λ_l = ∂L/∂p_l, flattened, and the
/// cosine between every pair of cells of the same type.
public struct LayerAlignment: Sendable, Equatable {
    /// Cell indices of each α group (normal cells, reduction cells; one group
    /// for spaces that share α).
    public var cellsByType: [[Int]]
    /// `cosines[t][i][j]` = cos(Λ_a, Λ_b) for the i-th and j-th cells of type t.
    public var cosines: [[[Double]]]

    /// Mean cosine over the pairs of type t, nil with fewer than two cells.
    public func meanPairCosine(type t: Int) -> Double? {
        let n = cosines[t].count
        guard n >= 2 else { return nil }
        var total = 0.0
        for i in 0..<n { for j in (i + 1)..<n { total += cosines[t][i][j] } }
        return total / Double(n * (n - 1) / 2)
    }

    public init(layerGradients: [Tensor<Float>], cellsByType: [[Int]]) {
        self.cellsByType = cellsByType
        cosines = cellsByType.map { cells in
            let norms = cells.map { layerGradients[$0].squaredNorm.squareRoot() }
            return cells.indices.map { i in
                cells.indices.map { j in
                    let denominator = norms[i] * norms[j]
                    return denominator > 0 ? layerGradients[cells[i]].dot(layerGradients[cells[j]]) / denominator : 0
                }
            }
        }
    }
}

extension Supernet {
    /// Cell l's contribution to ∂L/∂α of its α: the softmax Jacobian applied
    /// to Λ_l, row by row: p ⊙ (Λ − ⟨Λ, p⟩). Summed over the cells sharing an
    /// α it is that α's gradient (weight decay aside); with per-layer α it is
    /// the cell's whole α-gradient.
    public func alphaGradientContribution(ofCell cell: Int, layerGradient: Tensor<Float>) -> [[Double]] {
        let p = mixingWeights()[alphaIndex(ofCell: cell)]
        let width = layerGradient.shape[1]
        return p.indices.map { e in
            let row = (0..<width).map { Double(layerGradient.scalars[e * width + $0]) }
            let inner = zip(row, p[e]).reduce(0) { $0 + $1.0 * $1.1 }
            return (0..<width).map { p[e][$0] * (row[$0] - inner) }
        }
    }
}
