/// A colour role, resolved to terminal colours by the active theme: widgets
/// say what a cell means, the theme decides how it looks.
public enum ColorRole: Hashable, Sendable {
    case text, dim, accent, border, title, good, warning, bad
    /// Step `index` of `count` on the sequential heatmap ramp (low → high).
    case sequential(index: Int, count: Int)
    /// Step `index` of `count` on the diverging ramp (negative → positive).
    case diverging(index: Int, count: Int)
}

public struct CellStyle: Hashable, Sendable {
    public var foreground: ColorRole
    public var background: ColorRole?
    public var bold: Bool

    public init(_ foreground: ColorRole = .text, background: ColorRole? = nil, bold: Bool = false) {
        self.foreground = foreground
        self.background = background
        self.bold = bold
    }
}

public struct Cell: Hashable, Sendable {
    public var character: Character
    public var style: CellStyle

    public init(_ character: Character = " ", _ style: CellStyle = CellStyle()) {
        self.character = character
        self.style = style
    }
}

/// An in-memory screen: widgets draw into it, the terminal renderer copies
/// it to ncurses, and tests read it back as text — so every widget can be
/// tested without a terminal.
public struct CellGrid: Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(), count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { if x >= 0 && x < width && y >= 0 && y < height { cells[y * width + x] = newValue } }
    }

    /// Writes `text` from (x, y), clipped at `maxWidth` and the grid's edge;
    /// returns the number of cells written.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: CellStyle = CellStyle(), maxWidth: Int? = nil) -> Int {
        guard y >= 0 && y < height else { return 0 }
        let limit = min(maxWidth ?? width, width - x)
        var written = 0
        for character in text {
            guard written < limit else { break }
            self[x + written, y] = Cell(character, style)
            written += 1
        }
        return max(written, 0)
    }

    public mutating func fill(_ rect: Rect, with cell: Cell) {
        for y in rect.y..<(rect.y + rect.height) { for x in rect.x..<(rect.x + rect.width) { self[x, y] = cell } }
    }

    /// A box border with an optional title in the top edge.
    public mutating func box(_ rect: Rect, title: String? = nil, style: CellStyle = CellStyle(.border), glyphs: Glyphs) {
        guard rect.width >= 2 && rect.height >= 2 else { return }
        let (right, bottom) = (rect.x + rect.width - 1, rect.y + rect.height - 1)
        for x in rect.x...right {
            self[x, rect.y] = Cell(glyphs.horizontal, style)
            self[x, bottom] = Cell(glyphs.horizontal, style)
        }
        for y in rect.y...bottom {
            self[rect.x, y] = Cell(glyphs.vertical, style)
            self[right, y] = Cell(glyphs.vertical, style)
        }
        self[rect.x, rect.y] = Cell(glyphs.topLeft, style)
        self[right, rect.y] = Cell(glyphs.topRight, style)
        self[rect.x, bottom] = Cell(glyphs.bottomLeft, style)
        self[right, bottom] = Cell(glyphs.bottomRight, style)
        if let title, rect.width > 4 {
            write(" \(title) ", x: rect.x + 2, y: rect.y, style: CellStyle(.title, bold: true), maxWidth: rect.width - 4)
        }
    }

    /// Row `y` as plain text (trailing spaces kept).
    public func line(_ y: Int) -> String { String(cells[(y * width)..<((y + 1) * width)].map(\.character)) }

    /// The whole grid as text, one line per row, trailing spaces trimmed.
    public var text: String {
        (0..<height).map { line($0).replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n")
    }
}

public struct Rect: Hashable, Sendable {
    public var x, y, width, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The area inside a one-cell border.
    public var inner: Rect { Rect(x: x + 1, y: y + 1, width: width - 2, height: height - 2) }
}

/// The characters a terminal can show: Unicode boxes, blocks and braille on
/// UTF-8 locales, ASCII otherwise.
public struct Glyphs: Sendable {
    public var horizontal, vertical, topLeft, topRight, bottomLeft, bottomRight: Character
    /// Shading from light to full, for heatmaps without colour.
    public var shades: [Character]
    /// Eighth-height blocks (index 0 = empty … 8 = full) for bar-style charts.
    public var blocks: [Character]
    public var usesBraille: Bool
    public var filledBar, emptyBar: Character

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "╭", topRight: "╮", bottomLeft: "╰", bottomRight: "╯",
        shades: [" ", "░", "▒", "▓", "█"], blocks: [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        usesBraille: true, filledBar: "█", emptyBar: "░")
    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        shades: [" ", ".", ":", "*", "#"], blocks: [" ", ".", ".", "-", "-", "=", "=", "#", "#"],
        usesBraille: false, filledBar: "#", emptyBar: "-")
}

import Foundation
