/// Which cells mix with the same α matrix (`network.alphas`).
///
/// DARTS shares one α per cell type, so every normal cell is pushed by the
/// sum of all normal cells' gradients; Λ-DARTS argues that the cells near the
/// output dominate that sum. With one α per cell the layers choose apart, and
/// a heatmap per layer shows which ones turn to parameter-free operations
/// first.
public enum AlphaLayout: String, CaseIterable, Sendable {
    /// One α per cell type (normal, reduce), or one for all cells in a space
    /// that shares it across types: DARTS.
    case shared
    /// Every cell its own α, named `cells.<index>.alphas` as a PyTorch cell
    /// owning its α as a parameter would name it in its `state_dict`.
    case perLayer = "per_layer"

    /// The state-dict name of cell `index`'s α under ``perLayer``.
    public static func perLayerName(cell index: Int) -> String { "cells.\(index).alphas" }

    /// The mixing weights of each cell type seen through its cells: the mean
    /// of softmax(α) over the cells of the type (`cellsByType`, indices into
    /// `layerMixing`). What a per-layer search reports as its cell types'
    /// weights, and what its headline genotype and regret are derived from.
    /// A type without cells (a network too short to have a normal cell) gets
    /// uniform weights, what an untrained α gives.
    public static func typeMixing(layerMixing: [[[Double]]], cellsByType: [[Int]]) -> [[[Double]]] {
        let template = layerMixing.first ?? []
        return cellsByType.map { cells in
            template.indices.map { edge in
                template[edge].indices.map { k in
                    cells.isEmpty ? 1 / Double(template[edge].count)
                        : cells.reduce(0) { $0 + layerMixing[$1][edge][k] } / Double(cells.count)
                }
            }
        }
    }
}

extension NetworkShape {
    /// Cell indices of each cell type: normal, then reduce — or all cells as
    /// one type when `sharedAcrossTypes` (the space's
    /// ``SearchSpace/sharesAlphaAcrossCellTypes``). A type may have no cells
    /// (one or two layers have no normal cell).
    public func cellsByType(sharedAcrossTypes: Bool) -> [[Int]] {
        AlphaLayout.cellsByType(reductionCells: reductionCells, sharedAcrossTypes: sharedAcrossTypes)
    }

    /// Which cells reduce, in network order.
    public var reductionCells: [Bool] { (0..<layers).map { isReduction(cell: $0) } }
}

extension AlphaLayout {
    /// Cell indices of each cell type given which cells reduce (a network
    /// of dartscope's shape, or a probe's declared cells).
    public static func cellsByType(reductionCells: [Bool], sharedAcrossTypes: Bool) -> [[Int]] {
        let all = Array(reductionCells.indices)
        if sharedAcrossTypes { return [all] }
        return [all.filter { !reductionCells[$0] }, all.filter { reductionCells[$0] }]
    }
}
