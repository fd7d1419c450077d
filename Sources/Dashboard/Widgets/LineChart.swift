/// A line chart of one or more series, in braille dots (2×4 per cell) on
/// Unicode terminals or in block characters otherwise, with the y range on
/// the left and optional vertical markers (DARTS-ES triggers).
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var values: [Double]
        public var role: ColorRole
        public init(_ values: [Double], role: ColorRole) {
            self.values = values
            self.role = role
        }
    }

    public var series: [Series]
    /// Indices (into the series' x axis) to mark with a vertical rule.
    public var markers: [Int] = []
    /// A horizontal reference line (the ES threshold), if any.
    public var reference: Double?

    public init(series: [Series]) { self.series = series }

    /// The y range covering every finite value (and the reference line).
    /// A flat series gets ±10 % of its value (±0.5 around zero), so the one
    /// eigenvalue of a first epoch does not put a negative number on the axis.
    public var range: ClosedRange<Double>? {
        let finite = series.flatMap(\.values).filter(\.isFinite) + (reference.map { [$0] } ?? [])
        guard let low = finite.min(), let high = finite.max() else { return nil }
        guard low == high else { return low...high }
        let margin = low == 0 ? 0.5 : abs(low) / 10
        return (low - margin)...(high + margin)
    }

    public func draw(into grid: inout CellGrid, at rect: Rect, glyphs: Glyphs) {
        guard let range = range else {
            grid.write("no data yet", x: rect.x, y: rect.y, style: CellStyle(.dim), maxWidth: rect.width)
            return
        }
        let axisWidth = 7
        let plot = Rect(x: rect.x + axisWidth + 1, y: rect.y, width: rect.width - axisWidth - 1, height: rect.height)
        guard plot.width > 1, plot.height > 0 else { return }
        grid.write(String(formatAxis(range.upperBound).prefix(axisWidth)), x: rect.x, y: rect.y, style: CellStyle(.dim))
        grid.write(String(formatAxis(range.lowerBound).prefix(axisWidth)), x: rect.x, y: rect.y + rect.height - 1, style: CellStyle(.dim))
        let count = series.map(\.values.count).max() ?? 0
        guard count > 0 else { return }
        // Dot resolution: braille has 2 columns × 4 rows of dots per cell.
        let (dotsX, dotsY) = glyphs.usesBraille ? (2, 4) : (1, 8)
        let columns = plot.width * dotsX, rows = plot.height * dotsY
        func column(_ i: Int) -> Int { count == 1 ? 0 : i * (columns - 1) / (count - 1) }
        func row(_ v: Double) -> Int {
            let fraction = (v - range.lowerBound) / (range.upperBound - range.lowerBound)
            return min(rows - 1, max(0, Int((fraction * Double(rows - 1)).rounded())))
        }
        if let reference {
            let y = plot.y + plot.height - 1 - row(reference) / dotsY
            for x in plot.x..<(plot.x + plot.width) { grid[x, y] = Cell(glyphs.usesBraille ? "┄" : "-", CellStyle(.warning)) }
        }
        for marker in markers where marker >= 0 && marker < count {
            let x = plot.x + column(marker) / dotsX
            for y in plot.y..<(plot.y + plot.height) { grid[x, y] = Cell(glyphs.vertical, CellStyle(.bad)) }
        }
        for s in series {
            var dots: [Int: UInt8] = [:]  // cell index → braille bit pattern
            func mark(column x: Int, rows a: Int, _ b: Int) {
                for r in min(a, b)...max(a, b) {
                    let cellX = x / dotsX, cellY = (rows - 1 - r) / dotsY
                    let key = cellY * plot.width + cellX
                    if glyphs.usesBraille {
                        dots[key, default: 0] |= brailleBit(dx: x % dotsX, dy: (rows - 1 - r) % dotsY)
                    } else {
                        dots[key] = max(dots[key] ?? 0, UInt8(8 - (rows - 1 - r) % dotsY))
                    }
                }
            }
            var previous: (x: Int, y: Int)?
            for (i, v) in s.values.enumerated() where v.isFinite {
                let point = (x: column(i), y: row(v))
                guard let last = previous, point.x > last.x else {
                    // The first point, or another in the same dot column: a vertical run keeps steep moves visible.
                    mark(column: point.x, rows: previous?.y ?? point.y, point.y)
                    previous = point
                    continue
                }
                // A straight line to the next point, one dot column at a time, so a
                // sparse series (one eigenvalue per epoch) reads as a line, not as dots.
                var y = last.y
                for x in (last.x + 1)...point.x {
                    let next = last.y + Int((Double(point.y - last.y) * Double(x - last.x) / Double(point.x - last.x)).rounded())
                    mark(column: x, rows: y, next)
                    y = next
                }
                previous = point
            }
            for (key, bits) in dots {
                let x = plot.x + key % plot.width, y = plot.y + key / plot.width
                let character: Character = glyphs.usesBraille
                    ? Character(UnicodeScalar(0x2800 + UInt32(bits))!)
                    : glyphs.blocks[Int(min(bits, 8))]
                grid[x, y] = Cell(character, CellStyle(s.role))
            }
        }
    }

    /// The braille dot for column dx (0, 1) and row dy (0–3, top to bottom).
    func brailleBit(dx: Int, dy: Int) -> UInt8 {
        let left: [UInt8] = [0x01, 0x02, 0x04, 0x40], right: [UInt8] = [0x08, 0x10, 0x20, 0x80]
        return dx == 0 ? left[dy] : right[dy]
    }

    func formatAxis(_ value: Double) -> String {
        abs(value) >= 1000 || (abs(value) < 0.01 && value != 0) ? String(format: "%.1e", value) : String(format: "%.3f", value)
    }
}

import Foundation
