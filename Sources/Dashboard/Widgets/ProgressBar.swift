/// `[████████░░░░] 62%`-style progress of the search.
public struct ProgressBar: Sendable {
    public var fraction: Double

    public init(fraction: Double) { self.fraction = fraction.isFinite ? min(1, max(0, fraction)) : 0 }

    public func draw(into grid: inout CellGrid, x: Int, y: Int, width: Int, glyphs: Glyphs) {
        let label = String(format: " %3d%%", Int((fraction * 100).rounded(.down)))
        let barWidth = max(0, width - label.count)
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        for i in 0..<barWidth {
            grid[x + i, y] = i < filled ? Cell(glyphs.filledBar, CellStyle(.accent)) : Cell(glyphs.emptyBar, CellStyle(.dim))
        }
        grid.write(label, x: x + barWidth, y: y, style: CellStyle(.text), maxWidth: label.count)
    }
}

import Foundation
