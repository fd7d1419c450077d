import DartsTelemetry

/// The live parameters with their values and where each came from (the
/// config, or the step at which it was changed); one row may be selected
/// for in-place editing.
public struct ParameterList: Sendable {
    public struct Row: Sendable, Equatable {
        public var key: String
        public var value: String
        public var origin: String
    }

    public var rows: [Row]
    public var selected: Int?

    /// Lists the live ones of `parameters`.
    public init(parameters: [ParameterDescriptor], values: [String: ConfigValue], changes: [String: Int], selected: Int? = nil) {
        rows = parameters.filter(\.isLive).map { parameter in
            Row(key: parameter.key,
                value: values[parameter.key]?.description ?? "?",
                origin: changes[parameter.key].map { "step \($0)" } ?? "config")
        }
        self.selected = selected
    }

    /// Draws as many rows as fit, scrolled so the selection is visible.
    public func draw(into grid: inout CellGrid, at rect: Rect) {
        guard rect.height > 0, !rows.isEmpty else { return }
        let first = max(0, min((selected ?? 0) - rect.height + 1, rows.count - rect.height))
        let keyWidth = min(rows.map(\.key.count).max()!, rect.width / 2)
        for (offset, row) in rows.dropFirst(first).prefix(rect.height).enumerated() {
            let index = first + offset, y = rect.y + offset
            let chosen = index == selected
            let style = CellStyle(chosen ? .accent : .text, bold: chosen)
            grid.write(row.key, x: rect.x, y: y, style: CellStyle(chosen ? .accent : .dim, bold: chosen), maxWidth: keyWidth)
            let valueX = rect.x + keyWidth + 1
            let written = grid.write(row.value, x: valueX, y: y, style: style, maxWidth: max(0, rect.width - keyWidth - 1))
            let originX = valueX + max(written + 1, 10)
            if originX < rect.x + rect.width {
                grid.write(row.origin, x: originX, y: y, style: CellStyle(row.origin == "config" ? .dim : .warning), maxWidth: rect.x + rect.width - originX)
            }
        }
    }
}
