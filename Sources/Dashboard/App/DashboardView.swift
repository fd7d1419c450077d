import DartsTelemetry
import Foundation

/// What the dashboard shows besides the metrics: UI state owned by the UI thread.
public struct ViewState: Sendable {
    public enum Mode: Sendable, Equatable {
        case normal
        case command(String)
        case editing(key: String, text: String)
        case confirmQuit
        /// `:stop`: ending the search (of an attached probe, too) is confirmed.
        case confirmStop
        case help
    }

    public var mode: Mode = .normal
    public var showReduce = false
    public var selectedLayer = 0
    public var selectedParameter = 0
    public var status = "? help · : command · space pause · q quit"

    public init() {}
}

/// Lays the dashboard out into a ``CellGrid`` from one ``MetricsSnapshot``:
/// a pure function of its inputs, so tests can check every panel without a
/// terminal.
public struct DashboardView {
    public static let minimumWidth = 100
    public static let minimumHeight = 30

    public var glyphs: Glyphs
    public var shaded: Bool
    public var rampSteps: Int

    public init(glyphs: Glyphs, shaded: Bool, rampSteps: Int = 8) {
        self.glyphs = glyphs
        self.shaded = shaded
        self.rampSteps = rampSteps
    }

    public func render(_ s: MetricsSnapshot, _ view: ViewState, width: Int, height: Int) -> CellGrid {
        var grid = CellGrid(width: width, height: height)
        guard width >= Self.minimumWidth && height >= Self.minimumHeight else {
            let message = "enlarge to \(Self.minimumWidth)×\(Self.minimumHeight) (now \(width)×\(height))"
            grid.write(message, x: max(0, (width - message.count) / 2), y: height / 2, style: CellStyle(.warning, bold: true))
            return grid
        }
        header(&grid, s, view, width: width)
        let leftWidth = min(48, width / 2)
        let body = height - 2
        // Per-layer α adds a line: every cell's parameter-free count.
        let alphaHeight = min(s.run.edgeLabels.count + (s.lastAlphas?.value.layers == nil ? 3 : 4), body / 2)
        alphaPanel(&grid, s, view, Rect(x: 0, y: 1, width: leftWidth, height: alphaHeight))
        layerPanel(&grid, s, view, Rect(x: 0, y: 1 + alphaHeight, width: leftWidth, height: body - alphaHeight))
        let rightX = leftWidth, rightWidth = width - leftWidth
        let curvatureHeight = max(7, body / 4)
        let alignmentHeight = max(7, min(s.run.cells.count + 4, body / 4))
        let searchHeight = max(7, body / 4)
        curvaturePanel(&grid, s, Rect(x: rightX, y: 1, width: rightWidth, height: curvatureHeight))
        alignmentPanel(&grid, s, view, Rect(x: rightX, y: 1 + curvatureHeight, width: rightWidth, height: alignmentHeight))
        searchPanel(&grid, s, Rect(x: rightX, y: 1 + curvatureHeight + alignmentHeight, width: rightWidth, height: searchHeight))
        let used = 1 + curvatureHeight + alignmentHeight + searchHeight
        parameterPanel(&grid, s, view, Rect(x: rightX, y: used, width: rightWidth, height: height - 1 - used))
        statusLine(&grid, s, view, y: height - 1, width: width)
        if view.mode == .help { helpOverlay(&grid, s, width: width, height: height) }
        if view.mode == .confirmQuit || view.mode == .confirmStop {
            let text = switch (view.mode, s.source?.kind) {
            case (.confirmStop, _): " Stop the search? It ends for good (snapshots stay). [y] / [c]ancel "
            case (_, .probe?): " Detach? The search goes on (:stop ends it). [y] / [c]ancel "
            case (_, .metricsFile?): " Close the viewer? [y] / [c]ancel "
            default: s.state == .diverged
                ? " Diverged: quit without a snapshot (:rollback goes on)? [y] / [c]ancel "
                : " Quit: take a snapshot first? [y]es / [n]o / [c]ancel "
            }
            grid.box(Rect(x: (width - text.count) / 2 - 1, y: height / 2 - 1, width: text.count + 2, height: 3), glyphs: glyphs)
            grid.write(text, x: (width - text.count) / 2, y: height / 2, style: CellStyle(.warning, bold: true))
        }
        return grid
    }

    // MARK: Panels

    /// The top line. The run's state and the Λ-DARTS status are what a user
    /// acts on, so they are pinned to the right edge; on a narrow terminal the
    /// progress bar shrinks, then the rate goes, then the run description is
    /// clipped — never the state.
    func header(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, width: Int) {
        let triggered = s.lastEarlyStopping?.value.triggered == true
        let state = " " + (triggered && s.state == .running ? "ES TRIGGERED" : s.state.rawValue) + " "
        let stateRole: ColorRole = switch s.state {
        case .running: triggered ? .warning : .good
        case .paused, .stepping: .warning
        case .stopped, .finished: .dim
        case .diverged, .disconnected: .bad
        }
        let lambdaOn = s.flag("lambda.enabled")
        // A producer without Λ-DARTS (a probe that declares no lambda.enabled) gets no Λ badge.
        let lambda = s.values["lambda.enabled"] == nil ? "" : " " + (lambdaOn
            ? "Λ \(s.text("lambda.variant") ?? "?") λ=\(formatReal(s.real("lambda.value") ?? .nan))\(s.flag("lambda.ramp") ? " ramp" : "")" : "Λ off")
        let rightX = max(0, width - state.count - lambda.count)
        grid.write(state, x: rightX, y: 0, style: CellStyle(stateRole, bold: true))
        grid.write(lambda, x: rightX + state.count, y: 0, style: CellStyle(lambdaOn ? .accent : .dim))

        let epochs = s.run.epochs
        let runName = s.text("run.name") ?? s.run.runName
        var x = grid.write("dartscope ", x: 0, y: 0, style: CellStyle(.title, bold: true), maxWidth: rightX)
        if let source = s.source {
            x += grid.write("[\(source.label)] ", x: x, y: 0, style: CellStyle(.accent), maxWidth: rightX - x)
        }
        x += grid.write("\(runName) · \(s.run.space) · \(s.run.dataset) · epoch \(min(s.epoch + 1, epochs))/\(epochs) step \(s.step)/\(s.totalSteps) ",
                        x: x, y: 0, style: CellStyle(.text), maxWidth: rightX - x)
        let rate = (s.stepsPerSecond.isFinite ? String(format: "%.2f steps/s", s.stepsPerSecond) : "– steps/s")
            + (s.stepsPerSecond.isFinite && s.stepsPerSecond > 0 ? " ETA " + formatDuration(Double(s.totalSteps - s.step) / s.stepsPerSecond) : "")
        let room = rightX - x - 1
        let barWidth = min(22, room - rate.count - 1)
        if barWidth >= 10 {
            ProgressBar(fraction: s.totalSteps > 0 ? Double(s.step) / Double(s.totalSteps) : 0).draw(into: &grid, x: x, y: 0, width: barWidth, glyphs: glyphs)
            x += barWidth + 1
        }
        if rate.count <= rightX - x - 1 { grid.write(rate, x: x, y: 0, style: CellStyle(.dim)) }
    }

    /// The cell type the α, gradient and cosine panels show.
    func shownType(_ s: MetricsSnapshot, _ view: ViewState) -> String {
        view.showReduce && s.run.cellTypes.count > 1 ? s.run.cellTypes[1] : (s.run.cellTypes.first ?? "normal")
    }

    /// Column labels: the operations of a type's first edge.
    func operationLabels(_ s: MetricsSnapshot, type: String) -> [String] {
        (s.run.operations[type]?.first ?? []).map(shortName)
    }

    func alphaPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, _ rect: Rect) {
        if let layers = s.lastAlphas?.value.layers, !layers.isEmpty {
            return layerAlphaPanel(&grid, s, view, layers, rect)
        }
        let type = shownType(s, view)
        grid.box(rect, title: "softmax(α) \(type)  [r]", glyphs: glyphs)
        guard let alphas = s.lastAlphas?.value.cellType(type) else {
            grid.write("waiting for the first α report", x: rect.x + 2, y: rect.y + 2, style: CellStyle(.dim))
            return
        }
        var heatmap = Heatmap(rowLabels: s.run.edgeLabels, columnLabels: operationLabels(s, type: type), values: alphas.softmax, scale: .sequential(0...1))
        heatmap.shaded = shaded
        heatmap.steps = rampSteps
        heatmap.marked = Set(alphas.genotypeMarks)
        heatmap.draw(into: &grid, at: rect.inner, glyphs: glyphs)
    }

    /// Per-layer α: the selected cell's own softmax (the same cell as the
    /// gradient map below it, so ←/→ moves both), and on the last line every
    /// cell's parameter-free edges, the whole cell's turning red, so the user
    /// sees which layers collapse first.
    func layerAlphaPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, _ layers: [AlphaMetrics.Layer], _ rect: Rect) {
        let layer = selectedCell(s, view)
        let type = s.run.alphaType(ofCell: layer)
        grid.box(rect, title: "softmax(α) cell \(layer) (\(s.run.cellType(ofCell: layer))) own α  [←/→]", glyphs: glyphs)
        let inner = rect.inner
        guard layer < layers.count else { return }
        var heatmap = Heatmap(rowLabels: s.run.edgeLabels, columnLabels: operationLabels(s, type: type), values: layers[layer].softmax, scale: .sequential(0...1))
        heatmap.shaded = shaded
        heatmap.steps = rampSteps
        heatmap.marked = Set(layers[layer].genotypeMarks)
        heatmap.draw(into: &grid, at: Rect(x: inner.x, y: inner.y, width: inner.width, height: max(1, inner.height - 1)), glyphs: glyphs)
        let y = inner.y + inner.height - 1
        var x = inner.x + grid.write("p-free", x: inner.x, y: y, style: CellStyle(.dim), maxWidth: inner.width)
        for (cell, entry) in layers.enumerated() {
            let text = " \(cell):\(entry.parameterFreeCount)"
            guard x + text.count <= inner.x + inner.width else { break }
            let collapsed = entry.parameterFreeCount > 0 && entry.parameterFreeCount == entry.genotypeMarks.count
            x += grid.write(text, x: x, y: y, style: CellStyle(collapsed ? .bad : (cell == layer ? .accent : .text), bold: cell == layer))
        }
    }

    /// The cell ←/→ selects, within the run's cells.
    func selectedCell(_ s: MetricsSnapshot, _ view: ViewState) -> Int {
        min(max(view.selectedLayer, 0), max(s.run.cells.count - 1, 0))
    }

    func layerPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, _ rect: Rect) {
        let layer = selectedCell(s, view)
        let type = s.run.alphaType(ofCell: layer)
        grid.box(rect, title: "−∂L/∂α via cell \(layer) (\(s.run.cellType(ofCell: layer)))  [←/→]", glyphs: glyphs)
        guard let cells = s.lastAlignment?.value.layerAlphaGradients, layer < cells.count else {
            grid.write(Self.noAlignmentYet(s), x: rect.x + 2, y: rect.y + 2, style: CellStyle(.dim), maxWidth: rect.width - 3)
            return
        }
        // Descent direction: positive = this layer pushes the operation up.
        let values = cells[layer].map { $0.map { -$0 } }
        let magnitude = max(values.flatMap { $0 }.map(abs).max() ?? 0, 1e-12)
        var heatmap = Heatmap(rowLabels: s.run.edgeLabels, columnLabels: operationLabels(s, type: type), values: values, scale: .diverging(magnitude: magnitude))
        heatmap.shaded = shaded
        heatmap.steps = rampSteps
        heatmap.draw(into: &grid, at: rect.inner, glyphs: glyphs)
    }

    /// The eigenvalue per epoch with the DARTS-ES average and threshold; in a
    /// tabulated space, the regret per epoch beside it, under the name and
    /// budget of the table it is measured against.
    func curvaturePanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ rect: Rect) {
        let es = s.lastEarlyStopping?.value
        var title = "dominant eigenvalue λmax"
        if let value = s.lastHessian?.value.eigenvalue { title += String(format: " = %.4g", value) }
        if es?.triggered == true { title += " · ES TRIGGERED" }
        if let parent = s.parent { title += " · faint: \(parent.name)" }
        grid.box(rect, title: title, glyphs: glyphs)
        let eigenvalues = s.eigenvalues
        var chart = LineChart(series: Self.parentSeries(s.parent?.eigenvalues)
                                  + [.init(eigenvalues.map(\.value), role: .accent), .init(eigenvalues.map(\.localAverage), role: .warning)])
        chart.reference = es?.threshold
        chart.markers = eigenvalues.indices.filter { eigenvalues[$0].triggered }
        let inner = rect.inner
        guard let groundTruth = s.run.groundTruth, inner.width >= 40 else {
            chart.draw(into: &grid, at: inner, glyphs: glyphs)
            return
        }
        let half = inner.width / 2
        chart.draw(into: &grid, at: Rect(x: inner.x, y: inner.y, width: half - 1, height: inner.height), glyphs: glyphs)
        let regrets = s.epochs.compactMap(\.value.regret)
        let parentRegrets = s.parent?.epochs.compactMap(\.value.regret)
        let caption = "regret" + (regrets.last.map { String(format: " %.4f", $0) } ?? "")
            + (parentRegrets?.last.map { String(format: " (parent %.4f)", $0) } ?? "") + " vs " + groundTruth
        let right = Rect(x: inner.x + half, y: inner.y, width: inner.width - half, height: inner.height)
        grid.write(caption, x: right.x, y: right.y, style: CellStyle(.dim), maxWidth: right.width)
        LineChart(series: Self.parentSeries(parentRegrets) + [.init(regrets, role: .bad)])
            .draw(into: &grid, at: Rect(x: right.x, y: right.y + 1, width: right.width, height: max(1, right.height - 1)), glyphs: glyphs)
    }

    /// What an empty per-layer panel says: the engine fills it from the
    /// first step; a probe only when its model gives each cell its own copy
    /// of the mixing weights (docs/attach.md), so say what it would need.
    static func noAlignmentYet(_ s: MetricsSnapshot) -> String {
        s.source == nil || s.steps.isEmpty ? "waiting for the first step" : "no per-layer data: the producer sends no alignment events (docs/attach.md)"
    }

    func alignmentPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, _ rect: Rect) {
        let type = shownType(s, view)
        let alignment = s.lastAlignment?.value.cellType(type)
        let train = alignment?.trainCorrelation, valid = alignment?.validCorrelation
        grid.box(rect, title: "layer-gradient cosine (\(type)) train \(train.map { String(format: "%.3f", $0) } ?? "–") valid \(valid.map { String(format: "%.3f", $0) } ?? "–")", glyphs: glyphs)
        let inner = rect.inner
        guard let values = alignment?.validCosine else {
            grid.write(Self.noAlignmentYet(s), x: inner.x + 1, y: inner.y + 1, style: CellStyle(.dim), maxWidth: inner.width - 1)
            return
        }
        let cells = s.run.cells(mixingAlphaOf: type)
        var heatmap = Heatmap(rowLabels: cells.map { "cell \($0)" }, columnLabels: cells.map { "c\($0)" }, values: values, scale: .diverging(magnitude: 1))
        heatmap.shaded = shaded
        heatmap.steps = rampSteps
        heatmap.cellWidth = 4
        let matrixWidth = min(inner.width / 2, 8 + 4 * cells.count)
        heatmap.draw(into: &grid, at: Rect(x: inner.x, y: inner.y, width: matrixWidth, height: inner.height), glyphs: glyphs)
        // Mean pairwise cosine over recent steps (valid), and Λ health.
        let trend = s.alignmentTrend(type)
        LineChart(series: [.init(trend, role: .accent)]).draw(into: &grid, at: Rect(x: inner.x + matrixWidth + 1, y: inner.y, width: inner.width - matrixWidth - 1, height: max(1, inner.height - 1)), glyphs: glyphs)
        if let lambda = s.lastLambda?.value, s.flag("lambda.enabled") {
            let dominates = lambda.ratio > LambdaHealth.dominanceRatio
            let text = String(format: "Λ: |reg|/|task| %.3g  cos %.2f  clip %.3f", lambda.ratio, lambda.cosine, lambda.clipFactor)
            grid.write(text + (dominates ? "  regulariser dominates" : ""), x: inner.x + matrixWidth + 1, y: inner.y + inner.height - 1,
                       style: CellStyle(dominates ? .bad : .dim), maxWidth: inner.width - matrixWidth - 1)
        }
    }

    func searchPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ rect: Rect) {
        let epoch = s.lastEpoch?.value
        var title = "search"
        if let epoch {
            title += String(format: " · valid acc %.4f", epoch.validAccuracy)
            title += " · skip \(epoch.skipCount)"
            if let gap = epoch.discretisationGap { title += String(format: " · gap %.3f", gap) }
            if let regret = epoch.regret { title += String(format: " · regret %.4f", regret) }
        }
        grid.box(rect, title: title, glyphs: glyphs)
        let inner = rect.inner
        let losses = s.steps.map(\.value.trainLoss)
        let validLosses = s.steps.map(\.value.validLoss)
        // Losses of recent steps on the left; parameter-free normal edges per
        // epoch on the right (the collapse itself, with the parent's faint).
        let lossWidth = inner.width >= 60 ? inner.width * 2 / 3 : inner.width
        let chartHeight = max(1, inner.height - 1)
        LineChart(series: [.init(losses, role: .accent), .init(validLosses, role: .good)])
            .draw(into: &grid, at: Rect(x: inner.x, y: inner.y, width: lossWidth, height: chartHeight), glyphs: glyphs)
        if lossWidth < inner.width {
            let right = Rect(x: inner.x + lossWidth + 1, y: inner.y, width: inner.width - lossWidth - 1, height: chartHeight)
            // Files written before the count was recorded have the skip count.
            let count = { (epoch: Stamped<EpochMetrics>) in Double(epoch.value.parameterFreeCount ?? epoch.value.skipCount) }
            let freeEdges = s.epochs.map(count)
            let caption = "parameter-free edges" + (freeEdges.last.map { " \(Int($0))/\(epoch?.normalEdgeCount ?? 8)" } ?? "")
            grid.write(caption, x: right.x, y: right.y, style: CellStyle(.dim), maxWidth: right.width)
            LineChart(series: Self.parentSeries(s.parent?.epochs.map(count)) + [.init(freeEdges, role: .bad)])
                .draw(into: &grid, at: Rect(x: right.x, y: right.y + 1, width: right.width, height: max(1, right.height - 1)), glyphs: glyphs)
        }
        if let genotype = epoch?.genotype {
            grid.write(genotype, x: inner.x, y: inner.y + inner.height - 1, style: CellStyle(.dim), maxWidth: inner.width)
        }
    }

    /// The parent run's line of a chart, drawn first and faint so the fork's lies on it.
    static func parentSeries(_ values: [Double]?) -> [LineChart.Series] {
        values.map { [.init($0, role: .dim)] } ?? []
    }

    func parameterPanel(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, _ rect: Rect) {
        grid.box(rect, title: "live parameters  [↑/↓ enter]", glyphs: glyphs)
        var list = ParameterList(parameters: s.run.parameters, values: s.values, changes: s.parameterChanges, selected: view.selectedParameter)
        if case .editing(let key, let text) = view.mode, let index = list.rows.firstIndex(where: { $0.key == key }) {
            list.rows[index].value = text + "▏"
        }
        list.draw(into: &grid, at: rect.inner)
    }

    func statusLine(_ grid: inout CellGrid, _ s: MetricsSnapshot, _ view: ViewState, y: Int, width: Int) {
        switch view.mode {
        case .command(let text):
            // A line longer than the terminal scrolls: its end, where the typing is, stays in view.
            let line = ":" + text + "▏"
            let visible = line.count <= width ? line : "…" + line.suffix(width - 1)
            grid.write(visible, x: 0, y: y, style: CellStyle(.accent, bold: true))
        case .editing(let key, _):
            grid.write("editing \(key): enter to apply, esc to cancel", x: 0, y: y, style: CellStyle(.accent))
        default:
            let message = view.status
            let role: ColorRole = message.hasPrefix("error") ? .bad : .text
            grid.write(message, x: 0, y: y, style: CellStyle(role), maxWidth: width)
        }
    }

    public static let helpLines = [
        "space  pause / resume            n  one step (paused)      N  one epoch",
        "s      snapshot now              l  Λ-DARTS on/off         +/-  λ × 2 / ÷ 2",
        "v      next Λ variant            e  next ES action         r  normal/reduce cells",
        "←/→    cell shown (per-layer α too) ↑/↓ choose a parameter    enter  edit it",
        "t      next theme                ?  this help              q  quit",
        "",
        ":set KEY VALUE     change a live parameter (:set lambda.value 0.3)",
        ":snapshot NAME     :rollback NAME     :fork NAME     :theme NAME",
        ":export genotype|dot|metrics FILE     :help     :quit     :stop",
    ]

    /// The keys and commands, then every live parameter `:set` accepts —
    /// from the run's description, so a remedy's parameters appear here as
    /// soon as it declares them.
    func helpOverlay(_ grid: inout CellGrid, _ s: MetricsSnapshot, width: Int, height: Int) {
        let w = min(width - 4, 84)
        let parameters = Self.wrapped(s.run.liveParameters.map(\.key), width: w - 4)
        let lines = Self.helpLines + (parameters.isEmpty ? [] : ["", "live parameters (:set KEY VALUE):"] + parameters)
        let h = min(lines.count + 4, height)
        let rect = Rect(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
        grid.fill(rect, with: Cell(" "))
        grid.box(rect, title: "keys and commands (any key closes)", glyphs: glyphs)
        for (i, line) in lines.prefix(h - 4).enumerated() {
            grid.write(line, x: rect.x + 2, y: rect.y + 2 + i, style: CellStyle(i < Self.helpLines.count ? .text : .dim), maxWidth: w - 4)
        }
    }

    /// Words joined by two spaces into lines of at most `width` characters.
    static func wrapped(_ words: [String], width: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in words {
            if !current.isEmpty && current.count + 2 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += (current.isEmpty ? "" : "  ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

}
