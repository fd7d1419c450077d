@testable import Dashboard
import Foundation
import DartsEngine
import Testing

@Suite("widgets render into a cell grid")
struct WidgetTests {
    @Test func gridWritesClipsAndBoxes() {
        var grid = CellGrid(width: 12, height: 3)
        grid.box(Rect(x: 0, y: 0, width: 12, height: 3), title: "alpha", glyphs: .ascii)
        grid.write("a long text that is clipped", x: 1, y: 1, maxWidth: 10)
        #expect(grid.text == "+- alpha --+\n|a long tex|\n+----------+")
        #expect(grid[1, 0].character == "-")
        #expect(grid[3, 0].style.foreground == .title)
    }

    /// At the smallest size the dashboard draws, a long run name and a long
    /// Λ setting still leave the state and Λ on the header line: the bar
    /// and the rate make room first.
    @Test(arguments: [DashboardView.minimumWidth, 160])
    func headerKeepsStateAndLambdaVisible(_ width: Int) {
        let layout = DashboardView(glyphs: .ascii, shaded: true)
        var config = SearchConfig()
        config.runName = "a-rather-long-run-name-for-a-fork-of-a-fork"
        config.lambdaEnabled = true
        config.epochs = 30
        var snapshot = MetricsSnapshot.described(config, stepsPerEpoch: 79)
        snapshot.state = .paused
        snapshot.step = 120
        snapshot.stepsPerSecond = 2.5
        let view = ViewState()
        let header = layout.render(snapshot, view, width: width, height: DashboardView.minimumHeight).line(0)
        #expect(header.hasPrefix("dartscope a-rather-long-run-name"))
        #expect(header.hasSuffix(" PAUSED  Λ corr λ=0.125 ramp"), "\(header)")
        #expect(header.contains("steps/s") == (width == 160))
    }

    @Test(arguments: [(0.2, 0.18, 0.22), (-3, -3.3, -2.7), (0, -0.5, 0.5)])
    func flatSeriesRangeStaysNearItsValue(_ value: Double, _ low: Double, _ high: Double) throws {
        let range = try #require(LineChart(series: [.init([value, value], role: .accent)]).range)
        #expect(abs(range.lowerBound - low) < 1e-12 && abs(range.upperBound - high) < 1e-12, "\(range)")
    }

    /// A command longer than the terminal shows its end, where the cursor is.
    @Test func longCommandLineScrollsToItsEnd() {
        let layout = DashboardView(glyphs: .ascii, shaded: true)
        var view = ViewState()
        let path = String(repeating: "/a-long-folder-name", count: 8) + "/metrics.jsonl"
        view.mode = .command("export metrics " + path)
        let width = DashboardView.minimumWidth, height = DashboardView.minimumHeight
        let line = layout.render(MetricsSnapshot(), view, width: width, height: height).line(height - 1)
        #expect(line.hasPrefix("…") && line.hasSuffix("/metrics.jsonl▏"), "\(line)")
        view.mode = .command("set lambda 0.3")
        #expect(layout.render(MetricsSnapshot(), view, width: width, height: height).line(height - 1).hasPrefix(":set lambda 0.3▏"))
    }

    @Test func heatmapShadesMarksAndLabels() {
        var heatmap = Heatmap(rowLabels: ["n0←c_{k-2}", "n0←c_{k-1}"], columnLabels: ["none", "skip", "sep3"],
                              values: [[0.1, 0.2, 0.7], [0.0, 1.0, 0.5]], scale: .sequential(0...1))
        heatmap.shaded = true
        heatmap.steps = 5
        heatmap.marked = [[0, 2]]
        var grid = CellGrid(width: 30, height: 3)
        let rows = heatmap.draw(into: &grid, at: Rect(x: 0, y: 0, width: 30, height: 3), glyphs: .ascii)
        #expect(rows == 3)
        #expect(grid.line(0).contains("non ski sep"))
        // 0.1 → step 0 (blank), 0.2 → step 1 ("."), 0.7 marked ("*"); 0.0, 1.0 (top step "#"), 0.5 (":").
        #expect(grid.line(1).hasPrefix("n0←c_{k-2}"))
        #expect(grid.line(1).contains("    ... ***"))
        #expect(grid.line(2).contains("    ### ::: "))
        #expect(heatmap.step(of: .nan) == nil)
        #expect(grid[10 + 1 + 2 * 4 + 1, 1].style.bold)  // label, gap, two cells, then the mark
    }

    @Test func divergingScaleCentresZero() {
        let heatmap = Heatmap(rowLabels: [], columnLabels: [], values: [], scale: .diverging(magnitude: 2))
        #expect(heatmap.step(of: -2) == 0)
        #expect(heatmap.step(of: 0) == 4)
        #expect(heatmap.step(of: 2) == 7)
        #expect(heatmap.step(of: 10) == 7)
    }

    /// Two points far apart are joined by a line: every dot column between
    /// them is drawn, rising from the first point's row to the second's.
    @Test func lineChartJoinsSparsePointsWithALine() {
        var grid = CellGrid(width: 28, height: 4)
        LineChart(series: [.init([0, 1], role: .accent)]).draw(into: &grid, at: Rect(x: 0, y: 0, width: 28, height: 4), glyphs: .ascii)
        let heights = (8..<28).map { x in (0..<4).filter { grid[x, $0].character != " " }.map { 4 - $0 }.max() ?? 0 }
        #expect(!heights.contains(0), "a gap in \(heights)")
        #expect(heights.first == 1 && heights.last == 4 && heights == heights.sorted(), "\(heights)")
    }

    @Test func lineChartDrawsBrailleRisingLeftToRight() {
        var chart = LineChart(series: [.init([0, 1, 2, 3], role: .accent)])
        chart.markers = [3]
        var grid = CellGrid(width: 12, height: 2)
        chart.draw(into: &grid, at: Rect(x: 0, y: 0, width: 12, height: 2), glyphs: .unicode)
        #expect(grid.line(0).hasPrefix("3.000"))
        #expect(grid.line(1).hasPrefix("0.000"))
        // The lowest point sits bottom-left, the highest top-right; the marker
        // rule runs down the last column wherever no point covers it.
        #expect(grid[8, 1].character != " " && grid[8, 0].character == " ")
        #expect(grid[11, 1].character == "│" && grid[11, 0].character != "│")
        var empty = CellGrid(width: 20, height: 1)
        LineChart(series: []).draw(into: &empty, at: Rect(x: 0, y: 0, width: 20, height: 1), glyphs: .ascii)
        #expect(empty.text == "no data yet")
    }

    @Test func progressBar() {
        var grid = CellGrid(width: 15, height: 1)
        ProgressBar(fraction: 0.5).draw(into: &grid, x: 0, y: 0, width: 15, glyphs: .ascii)
        #expect(grid.text == "#####-----  50%")
        var full = CellGrid(width: 15, height: 1)
        ProgressBar(fraction: .nan).draw(into: &full, x: 0, y: 0, width: 15, glyphs: .ascii)
        #expect(full.text == "----------   0%")
    }

    @Test func parameterListShowsValuesAndOrigins() throws {
        var config = SearchConfig()
        config.lambdaValue = 0.3
        let list = ParameterList(parameters: SearchParameters.descriptors, values: MetricsSnapshot.described(config).values,
                                 changes: ["lambda.value": 120], selected: 1)
        let lambdaRow = try #require(list.rows.first { $0.key == "lambda.value" })
        #expect(lambdaRow.value == "0.3" && lambdaRow.origin == "step 120")
        #expect(list.rows.first { $0.key == "optim.lr" }?.origin == "config")
        #expect(!list.rows.contains { $0.key == "network.layers" }, "only live parameters are listed")
        var grid = CellGrid(width: 50, height: 3)
        list.draw(into: &grid, at: Rect(x: 0, y: 0, width: 50, height: 3))
        #expect(grid.line(0).hasPrefix("data.cutout_prob"))
    }
}

extension MetricsSnapshot {
    /// A snapshot whose run description and values are a config's, as the
    /// engine would describe an s3 run of 5 cells on Fashion-MNIST.
    static func described(_ config: SearchConfig, stepsPerEpoch: Int = 10) -> MetricsSnapshot {
        var snapshot = MetricsSnapshot()
        let values = Dictionary(uniqueKeysWithValues: SearchParameters.all.map { ($0.key, (try? config.value(of: $0.key))!) })
        let operations = Array(repeating: ["none", "skip_connect", "sep_conv_3x3"], count: 14)
        snapshot.run = RunDescription(
            producer: "test", runName: config.runName, space: "s3", dataset: "fashion-mnist", epochs: config.epochs,
            stepsPerEpoch: stepsPerEpoch, cells: ["normal", "reduce", "normal", "reduce", "normal"], cellTypes: ["normal", "reduce"],
            edgeLabels: (0..<14).map { "e\($0)" }, operations: ["normal": operations, "reduce": operations],
            parameters: SearchParameters.descriptors, values: values)
        snapshot.values = values
        return snapshot
    }
}

/// Every parameter a producer declares live must be discoverable: in the help
/// overlay, and in the generated configuration reference.
/// What an ASCII-only terminal is sent: one character for each, so a
/// column never moves, with the answers a reader would expect.
@Suite("ASCII stand-ins")
struct ASCIIStandInTests {
    @Test func knownCharactersGetTheirStandInAndTheRestAQuestionMark() {
        let drawn = String("λmax α→β · Λ ─│╭█ 漢 x".map(\.asciiStandIn))
        #expect(drawn == "lmax a>b . L -|+# ? x")
    }

    @Test func everyStandInIsOneASCIICharacter() {
        for scalar in (0x370...0x3FF).compactMap(Unicode.Scalar.init) + (0x2190...0x25FF).compactMap(Unicode.Scalar.init) {
            let standIn = Character(scalar).asciiStandIn
            #expect(standIn.isASCII && standIn.unicodeScalars.count == 1, "\(scalar) → \(standIn)")
        }
    }
}

@Suite("every live parameter is documented")
struct LiveParameterDocumentationTests {
    @Test func helpOverlayListsEveryLiveParameter() {
        let snapshot = MetricsSnapshot.described(SearchConfig())
        var view = ViewState()
        view.mode = .help
        let text = DashboardView(glyphs: .ascii, shaded: true)
            .render(snapshot, view, width: DashboardView.minimumWidth, height: DashboardView.minimumHeight).text
        for parameter in SearchParameters.all where parameter.isLive {
            #expect(text.contains(parameter.key), "the help overlay does not list \(parameter.key)")
        }
    }

    @Test func configurationReferenceIsCurrent() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/configuration.md")
        let committed = try String(contentsOf: docs, encoding: .utf8)
        #expect(committed == SearchParameters.referenceMarkdown(),
                "docs/configuration.md is stale: run scripts/config-reference.sh and commit it")
        for parameter in SearchParameters.all where parameter.isLive {
            #expect(committed.contains("`\(parameter.key)`"), "the configuration reference does not list \(parameter.key)")
        }
    }
}

@Suite("ground truth in the dashboard")
struct RegretPanelTests {
    @Test func regretIsDrawnBesideTheEigenvalueWithItsTable() {
        var snapshot = MetricsSnapshot.described(SearchConfig())
        snapshot.run.groundTruth = "tiny-fashion-mnist.json: tiny on fashion-mnist · 2 epochs on 3000 images · seeds 1,2 · τ 0.81"
        var epoch = EpochMetrics(trainLoss: 1, trainAccuracy: 0.5, validLoss: 1, validAccuracy: 0.5, genotype: "G", skipCount: 1, learningRate: 0.02)
        for (index, regret) in [0.02, 0.04].enumerated() {
            epoch.regret = regret
            snapshot.epochs.append(Stamped(step: index, epoch: index, wallTime: 0, value: epoch))
        }
        let text = DashboardView(glyphs: .ascii, shaded: true).render(snapshot, ViewState(), width: 160, height: 50).text
        #expect(text.contains("regret 0.0400 vs tiny-fashion-mnist.json"), "\(text.prefix(2000))")
        var plain = snapshot
        plain.run.groundTruth = nil
        #expect(!DashboardView(glyphs: .ascii, shaded: true).render(plain, ViewState(), width: 160, height: 50).text.contains("regret 0.0400 vs"))
    }
}

/// After `:fork`, the parent's continuation is drawn faintly under the fork's curves.
@Suite("the counterfactual of a fork")
struct CounterfactualTests {
    static func epoch(regret: Double, free: Int) -> EpochMetrics {
        var metrics = EpochMetrics(trainLoss: 1, trainAccuracy: 0.5, validLoss: 1, validAccuracy: 0.5, genotype: "G", skipCount: free, learningRate: 0.02)
        metrics.regret = regret
        metrics.parameterFreeCount = free
        metrics.normalEdgeCount = 4
        return metrics
    }

    static func event(_ step: Int, _ payload: TelemetryEvent.Payload) -> TelemetryEvent {
        TelemetryEvent(step: step, epoch: step / 10, wallTime: 0, payload: payload)
    }

    static func report(_ eigenvalue: Double) -> EarlyStoppingReport {
        EarlyStoppingReport(eigenvalue: eigenvalue, localAverage: nil, localAverageEpoch: 0, threshold: nil, triggered: false, action: "notify")
    }

    @Test func theStoreKeepsTheParentsHistoryUpToTheForkAndItsContinuationAfter() throws {
        let store = MetricsStore()
        for step in [10, 20] {
            store.record(Self.event(step, .epoch(Self.epoch(regret: 0.01, free: 1))))
            store.record(Self.event(step, .earlyStopping(Self.report(0.5))))
        }
        store.beginParent(name: "plain", forkStep: 15)
        store.record(Self.event(30, .epoch(Self.epoch(regret: 0.02, free: 2))))   // the fork's own: not the parent's
        store.recordParent(Self.event(12, .epoch(Self.epoch(regret: 9, free: 9))))  // before the fork: ignored
        store.recordParent(Self.event(20, .epoch(Self.epoch(regret: 0.3, free: 4))))
        store.recordParent(Self.event(20, .earlyStopping(Self.report(1.5))))
        store.recordParent(Self.event(20, .epoch(Self.epoch(regret: 0.7, free: 4))))  // a repeat: ignored
        let parent = try #require(store.snapshot().parent)
        #expect(parent.name == "plain" && parent.forkStep == 15)
        #expect(parent.epochs.map(\.value.regret) == [0.01, 0.3])
        #expect(parent.eigenvalues == [0.5, 1.5])
        #expect(store.snapshot().epochs.count == 3)
    }

    @Test func theParentsCurvesAreDrawnFaintlyWithItsName() {
        var snapshot = MetricsSnapshot.described(SearchConfig())
        snapshot.run.groundTruth = "tiny-s3-fashion-mnist.json"
        for (index, regret) in [0.01, 0.02, 0.03].enumerated() {
            snapshot.epochs.append(Stamped(step: index * 10, epoch: index, wallTime: 0, value: Self.epoch(regret: regret, free: 1)))
            snapshot.earlyStopping.append(Stamped(step: index * 10, epoch: index, wallTime: 0, value: Self.report(0.4)))
        }
        let view = DashboardView(glyphs: .ascii, shaded: true)
        let alone = view.render(snapshot, ViewState(), width: 160, height: 50)
        snapshot.parent = ParentRun(name: "plain", forkStep: 10, epochs: snapshot.epochs.prefix(2) + [
            Stamped(step: 30, epoch: 2, wallTime: 0, value: Self.epoch(regret: 0.5, free: 4)),
        ], earlyStopping: snapshot.earlyStopping.prefix(2) + [Stamped(step: 30, epoch: 2, wallTime: 0, value: Self.report(2))])
        let forked = view.render(snapshot, ViewState(), width: 160, height: 50)
        #expect(forked.text.contains("faint: plain"))
        #expect(forked.text.contains("regret 0.0300 (parent 0.5000) vs tiny-s3"), "\(forked.text.prefix(3000))")
        #expect(forked.text.contains("parameter-free edges 1/4"))
        func dimDots(_ grid: CellGrid) -> Int {
            var count = 0
            for y in 0..<grid.height { for x in 0..<grid.width where grid[x, y].style.foreground == .dim && grid[x, y].character != " " { count += 1 } }
            return count
        }
        #expect(dimDots(forked) > dimDots(alone) + 3, "the parent's three curves add faint cells")
    }
}

/// With per-layer α the α heatmap is the selected cell's own, moved by ←/→
/// with the gradient map, and every cell's parameter-free count is in view.
@Suite("per-layer α in the dashboard")
struct PerLayerAlphaPanelTests {
    static func snapshot() -> MetricsSnapshot {
        var snapshot = MetricsSnapshot.described(SearchConfig())
        let uniform = Array(repeating: [1.0 / 3, 1.0 / 3, 1.0 / 3], count: 14)
        var skipHeavy = uniform
        skipHeavy[5] = [0.02, 0.96, 0.02]
        let marks = (0..<8).map { [$0, 1] }
        let layers = (0..<5).map { cell in
            AlphaMetrics.Layer(softmax: cell == 3 ? skipHeavy : uniform, genotypeMarks: marks, parameterFreeCount: cell == 3 ? 8 : cell)
        }
        snapshot.lastAlphas = Stamped(step: 1, epoch: 0, wallTime: 0, value: AlphaMetrics(
            cellTypes: [.init(name: "normal", softmax: uniform, genotypeMarks: marks), .init(name: "reduce", softmax: uniform, genotypeMarks: marks)],
            genotype: nil, layers: layers))
        return snapshot
    }

    @Test func theAlphaHeatmapFollowsTheSelectedCell() {
        let layout = DashboardView(glyphs: .ascii, shaded: true)
        var view = ViewState()
        let first = layout.render(Self.snapshot(), view, width: 120, height: 40).text
        #expect(first.contains("softmax(α) cell 0 (normal) own α"), "\(first.prefix(1200))")
        #expect(first.contains("p-free 0:0 1:1 2:2 3:8 4:4"))
        view.selectedLayer = 3
        let grid = layout.render(Self.snapshot(), view, width: 120, height: 40)
        #expect(grid.text.contains("softmax(α) cell 3 (reduce) own α"))
        #expect(grid.text.contains("via cell 3 (reduce)"), "the gradient map shows the same cell")
        #expect(grid.text != first, "cell 3's own softmax is drawn, not cell 0's")
    }

    @Test func sharedAlphaKeepsTheCellTypeHeatmap() {
        var snapshot = Self.snapshot()
        snapshot.lastAlphas?.value.layers = nil
        let text = DashboardView(glyphs: .ascii, shaded: true).render(snapshot, ViewState(), width: 120, height: 40).text
        #expect(text.contains("softmax(α) normal  [r]") && !text.contains("p-free 0:"))
    }
}
