import Foundation

/// Runs grouped by variant — an experiment's, or one run's — turned into the
/// comparison table (mean ± std over seeds) and the figures: regret, λmax,
/// parameter-free edges and accuracy against epoch, one line per variant with
/// the range over its seeds shaded.
public struct ExperimentReport: Sendable {
    public struct Run: Sendable {
        public var variant: String
        public var seed: Int
        /// Nil when the run could not be read or never started.
        public var record: RunRecord?
        /// Why it failed: its exit status and last error line, or the record's failure.
        public var failure: String?

        public init(variant: String, seed: Int, record: RunRecord?, failure: String? = nil) {
            self.variant = variant
            self.seed = seed
            self.record = record
            self.failure = failure ?? record?.failure
        }

        public var summary: RunSummary? { record.map(RunSummary.init) }
    }

    public var title: String
    public var runs: [Run]

    public init(title: String, runs: [Run]) {
        self.title = title
        self.runs = runs
    }

    /// Variants in the order their first run appears.
    public var variants: [String] {
        runs.reduce(into: [String]()) { if !$0.contains($1.variant) { $0.append($1.variant) } }
    }

    // MARK: Table

    public var markdown: String {
        var lines = ["# \(title)", "",
                     "Mean ± standard deviation over each variant's seeds; epochs are counted from 1. *returned regret*: of the architecture the run returns (DARTS-ES: its stop epoch's); *min regret @ epoch*: the lowest regret and the mean epoch it was reached; *p-free*: parameter-free normal edges at the end; *collapsed*: runs meeting all three criteria of docs/remedies.md (regret rose, cell parameter-free, λmax doubled); *clip*: median clip factor of the weight steps.", "",
                     "| variant | runs | returned regret | final regret | min regret @ epoch | ES stop | p-free / edges | skip | max λmax | early λmax | supernet acc | discrete acc | clip | collapsed | wall s |",
                     "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for variant in variants {
            let group = runs.filter { $0.variant == variant }
            let summaries = group.filter { $0.failure == nil }.compactMap(\.summary)
            let failed = group.filter { $0.failure != nil }.count
            let pending = group.filter { $0.failure == nil && $0.record == nil }.count
            func column(_ value: (RunSummary) -> Double?, _ format: String = "%.3f") -> String {
                Self.meanStd(summaries.compactMap(value), format: format)
            }
            let edges = summaries.compactMap(\.normalEdgeCount).first.map(String.init) ?? "–"
            let stops = summaries.compactMap(\.earlyStopEpoch)
            let extra = (failed > 0 ? " (+\(failed) failed)" : "") + (pending > 0 ? " (+\(pending) not run yet)" : "")
            lines.append("| \(variant) | \(summaries.count)\(extra) "
                + "| \(column { $0.returnedRegret }) | \(column { $0.finalRegret }) "
                + "| \(column { $0.minimumRegret }) @ \(column({ $0.minimumRegretEpoch.map { Double($0 + 1) } }, "%.1f")) "
                + "| \(stops.isEmpty ? "–" : "\(stops.count)× @ " + Self.meanStd(stops.map { Double($0 + 1) }, format: "%.1f")) "
                + "| \(column({ $0.finalParameterFreeCount.map(Double.init) }, "%.1f")) / \(edges) "
                + "| \(column({ $0.finalSkipCount.map(Double.init) }, "%.1f")) "
                + "| \(column { $0.maximumLambdaMax }) | \(column { $0.earlyLambdaMax }) "
                + "| \(column { $0.finalValidAccuracy }) | \(column { $0.finalDiscreteAccuracy }) | \(column { $0.medianClipFactor }) "
                + "| \(summaries.filter(\.collapse.happened).count)/\(summaries.count) | \(column({ $0.wallTime }, "%.0f")) |")
        }
        let failures = runs.filter { $0.failure != nil }
        if !failures.isEmpty {
            lines += ["", "## Failed runs", ""]
            lines += failures.map { "- \($0.variant), seed \($0.seed): \($0.failure!)" }
        }
        lines += ["", "## Runs", "", "| variant | seed | epochs | returned regret | min regret @ epoch | p-free | max λmax | discrete acc | collapse at epoch (s) |", "|---|---|---|---|---|---|---|---|---|"]
        for run in runs {
            guard let summary = run.summary, run.failure == nil else { continue }
            func value(_ number: Double?, _ format: String = "%.3f") -> String { number.map { String(format: format, $0) } ?? "–" }
            let collapse = summary.collapse.happened
                ? "\(summary.collapse.epoch.map { String($0 + 1) } ?? "?") (\(value(summary.collapse.wallTime, "%.0f")))" : "no"
            lines.append("| \(run.variant) | \(run.seed) | \(summary.epochs) | \(value(summary.returnedRegret)) "
                + "| \(value(summary.minimumRegret)) @ \(summary.minimumRegretEpoch.map { String($0 + 1) } ?? "–") "
                + "| \(summary.finalParameterFreeCount.map(String.init) ?? "–")/\(summary.normalEdgeCount.map(String.init) ?? "–") "
                + "| \(value(summary.maximumLambdaMax)) | \(value(summary.finalDiscreteAccuracy)) | \(collapse) |")
        }
        lines += perLayerLines
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs with per-layer α: when each cell's kept edges all became
    /// parameter-free (and stayed so), and each cell's count at the end.
    var perLayerLines: [String] {
        let layered = runs.filter { $0.failure == nil && $0.record?.epochs.last?.layerParameterFreeCounts != nil }
        guard !layered.isEmpty else { return [] }
        var lines = ["", "## Per-layer α", "",
                     "Each cell's own genotype (`network.alphas = per_layer`): its parameter-free kept edges at the end, and the epoch (from 1) from which all its kept edges stayed parameter-free (– never).", "",
                     "| variant | seed | p-free per cell at the end | cell collapsed from epoch |", "|---|---|---|---|"]
        for run in layered {
            let epochs = run.record!.epochs
            let final = epochs.last!.layerParameterFreeCounts!
            let edges = epochs.last!.normalEdgeCount ?? 0
            let collapsed = final.indices.map { cell -> String in
                let counts = epochs.map { $0.layerParameterFreeCounts.map { cell < $0.count ? $0[cell] : 0 } ?? 0 }
                guard edges > 0, counts.last == edges else { return "c\(cell) –" }
                let from = (counts.lastIndex { $0 != edges }.map { $0 + 1 }) ?? 0
                return "c\(cell) \(epochs[from].epoch + 1)"
            }
            lines.append("| \(run.variant) | \(run.seed) | \(final.map(String.init).joined(separator: " ")) | \(collapsed.joined(separator: ", ")) |")
        }
        return lines
    }

    static func meanStd(_ values: [Double], format: String) -> String {
        guard !values.isEmpty else { return "–" }
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return String(format: format, mean) }
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        return String(format: "\(format) ± \(format)", mean, std)
    }

    // MARK: Figures

    /// A plotted metric: its file name, title, axis label and value per epoch.
    public struct Metric: Sendable {
        public var file: String
        public var title: String
        public var label: String
        public var value: @Sendable (RunRecord.Epoch) -> Double?
    }

    public static let metrics: [Metric] = [
        Metric(file: "regret", title: "Regret against the table's best", label: "regret", value: { $0.regret }),
        Metric(file: "lambda_max", title: "Dominant eigenvalue of the α-Hessian", label: "λmax", value: { $0.lambdaMax }),
        Metric(file: "parameter_free", title: "Parameter-free edges of the normal cell", label: "edges",
               value: { Double($0.parameterFreeCount ?? $0.skipCount) }),
        Metric(file: "valid_accuracy", title: "Supernet validation accuracy", label: "accuracy", value: { $0.validAccuracy }),
        Metric(file: "discrete_accuracy", title: "Discrete network's validation accuracy", label: "accuracy",
               value: { $0.discreteValidAccuracy }),
    ]

    /// `file name → SVG document` for every metric some run recorded.
    public var figures: [(file: String, svg: String)] {
        Self.metrics.compactMap { metric in
            let series = variants.compactMap { variant in
                Self.series(variant, records: runs.filter { $0.variant == variant }.compactMap(\.record), value: metric.value)
            }
            guard !series.isEmpty else { return nil }
            return (metric.file, SVGChart(title: "\(metric.title) — \(title)", xLabel: "epoch", yLabel: metric.label, series: series).svg)
        } + layerFigure
    }

    /// With per-layer α: every cell's parameter-free kept edges against
    /// epoch, one line per variant and cell (mean over seeds, their range shaded).
    var layerFigure: [(file: String, svg: String)] {
        let series = variants.flatMap { variant -> [SVGChart.Series] in
            let records = runs.filter { $0.variant == variant && $0.failure == nil }.compactMap(\.record)
            let cells = records.compactMap { $0.epochs.last?.layerParameterFreeCounts?.count }.max() ?? 0
            return (0..<cells).compactMap { cell in
                Self.series("\(variant) cell \(cell)", records: records) { epoch in
                    epoch.layerParameterFreeCounts.flatMap { cell < $0.count ? Double($0[cell]) : nil }
                }
            }
        }
        guard !series.isEmpty else { return [] }
        return [("layer_parameter_free", SVGChart(title: "Parameter-free kept edges of each cell (per-layer α) — \(title)",
                                                  xLabel: "epoch", yLabel: "edges", series: series).svg)]
    }

    /// One line of a figure: the mean over `records` of `value` per epoch,
    /// their range shaded when there are several; nil when no epoch has a value.
    static func series(_ name: String, records: [RunRecord], value: (RunRecord.Epoch) -> Double?) -> SVGChart.Series? {
        var byEpoch: [Int: [Double]] = [:]
        for record in records {
            for epoch in record.epochs { if let number = value(epoch) { byEpoch[epoch.epoch, default: []].append(number) } }
        }
        guard !byEpoch.isEmpty else { return nil }
        let epochs = byEpoch.keys.sorted()
        // Epochs are numbered from 0 in telemetry; plotted as completed epochs from 1.
        return SVGChart.Series(
            name: name,
            points: epochs.map { (Double($0 + 1), byEpoch[$0]!.reduce(0, +) / Double(byEpoch[$0]!.count)) },
            band: records.count > 1 ? epochs.map { (Double($0 + 1), byEpoch[$0]!.min()!, byEpoch[$0]!.max()!) } : [])
    }

    /// Writes `README.md`-style `results.md` and one SVG per figure into `directory`.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(markdown.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("results.md"), options: .atomic)
        for figure in figures {
            try Data(figure.svg.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("\(figure.file).svg"), options: .atomic)
        }
    }
}
