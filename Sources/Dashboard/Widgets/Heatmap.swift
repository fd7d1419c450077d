import Foundation

/// A labelled matrix of values drawn as coloured (or shaded) cells: softmax(α)
/// per edge and operation, per-layer α-gradients, layer cosine matrices.
public struct Heatmap: Sendable {
    public enum Scale: Sendable {
        /// Values in `range`, low → high on the sequential ramp.
        case sequential(ClosedRange<Double>)
        /// Signed values around 0, ±`magnitude` at the ends of the diverging ramp.
        case diverging(magnitude: Double)
    }

    public var rowLabels: [String]
    public var columnLabels: [String]
    public var values: [[Double]]
    public var scale: Scale
    /// Cells to mark (the derived genotype's edges and operations).
    public var marked: Set<[Int]> = []
    /// Ramp steps (8 on 16-colour terminals, more with 256 colours).
    public var steps = 8
    /// Draw shading glyphs (monochrome terminals) instead of relying on colour.
    public var shaded = false
    public var cellWidth = 4

    public init(rowLabels: [String], columnLabels: [String], values: [[Double]], scale: Scale) {
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.values = values
        self.scale = scale
    }

    /// Ramp step 0..<steps of a value (NaN → nil).
    public func step(of value: Double) -> Int? {
        guard value.isFinite else { return nil }
        let fraction: Double
        switch scale {
        case .sequential(let range):
            fraction = (value - range.lowerBound) / max(range.upperBound - range.lowerBound, 1e-300)
        case .diverging(let magnitude):
            fraction = (value / max(magnitude, 1e-300) + 1) / 2
        }
        return min(steps - 1, max(0, Int((fraction * Double(steps)).rounded(.down))))
    }

    func role(_ step: Int) -> ColorRole {
        switch scale {
        case .sequential: .sequential(index: step, count: steps)
        case .diverging: .diverging(index: step, count: steps)
        }
    }

    /// Draws the header row and one row per matrix row into `rect`; returns
    /// the rows used.
    @discardableResult
    public func draw(into grid: inout CellGrid, at rect: Rect, glyphs: Glyphs) -> Int {
        let labelWidth = min(rowLabels.map(\.count).max() ?? 0, max(rect.width / 3, 4))
        let columns = max(0, min(columnLabels.count, (rect.width - labelWidth - 1) / cellWidth))
        guard rect.height >= 2, columns > 0 else { return 0 }
        for (c, label) in columnLabels.prefix(columns).enumerated() {
            grid.write(label, x: rect.x + labelWidth + 1 + c * cellWidth, y: rect.y, style: CellStyle(.dim), maxWidth: cellWidth - 1)
        }
        let rows = min(values.count, rect.height - 1)
        for r in 0..<rows {
            let y = rect.y + 1 + r
            grid.write(r < rowLabels.count ? rowLabels[r] : "", x: rect.x, y: y, style: CellStyle(.dim), maxWidth: labelWidth)
            for c in 0..<min(columns, values[r].count) {
                let x = rect.x + labelWidth + 1 + c * cellWidth
                guard let s = step(of: values[r][c]) else {
                    grid.write("?", x: x, y: y, style: CellStyle(.warning))
                    continue
                }
                let mark = marked.contains([r, c])
                let shade = glyphs.shades[min(glyphs.shades.count - 1, s * glyphs.shades.count / steps)]
                let fill: Character = shaded ? shade : " "
                let style = CellStyle(mark ? .title : .text, background: shaded ? nil : role(s), bold: mark)
                for dx in 0..<(cellWidth - 1) { grid[x + dx, y] = Cell(fill, style) }
                if mark { grid[x + (cellWidth - 1) / 2, y] = Cell(glyphs.usesBraille ? "●" : "*", style) }
            }
        }
        return rows + 1
    }
}

/// Short column labels for operations, so eight fit across a narrow panel;
/// names the table does not know are cut to four characters.
public func shortName(_ operation: String) -> String {
    let known = ["none": "none", "max_pool_3x3": "max", "avg_pool_3x3": "avg", "skip_connect": "skip", "sep_conv_3x3": "sep3",
                 "sep_conv_5x5": "sep5", "dil_conv_3x3": "dil3", "dil_conv_5x5": "dil5", "noise": "nois"]
    return known[operation] ?? String(operation.prefix(4))
}
