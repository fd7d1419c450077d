import DartsTelemetry
import Foundation
import Testing
@testable import DartsReport

/// Builds metrics-file lines the way the engine writes them.
private func epochLine(_ epoch: Int, regret: Double?, parameterFree: Int, edges: Int = 4, wallTime: Double? = nil) -> Substring {
    var metrics = EpochMetrics(trainLoss: 0.5, trainAccuracy: 0.8, validLoss: 0.6, validAccuracy: 0.7 + 0.01 * Double(epoch),
                               genotype: "G", skipCount: parameterFree, learningRate: 0.01)
    metrics.parameterFreeCount = parameterFree
    metrics.normalEdgeCount = edges
    metrics.regret = regret
    metrics.discreteValidAccuracy = 0.6
    return Substring(TelemetryEvent(step: 10 * (epoch + 1), epoch: epoch, wallTime: wallTime ?? Double(10 * (epoch + 1)),
                                    payload: .epoch(metrics)).jsonLine())
}

private func hessianLine(_ epoch: Int, _ eigenvalue: Double) -> Substring {
    Substring(TelemetryEvent(step: 10 * (epoch + 1), epoch: epoch, wallTime: Double(10 * (epoch + 1)), payload: .hessian(
        HessianMetrics(eigenvalue: eigenvalue, productCount: 5, lanczosIterations: 5, seconds: 0.1, batchLoss: 1, atEpochEnd: true))).jsonLine())
}

@Suite("run reports")
struct ReportTests {
    /// Convolutions early (regret 0.01), then skip connections on every edge
    /// with regret 0.08 and the eigenvalue five times its early level.
    static let collapsing: [Substring] = (0..<8).flatMap { epoch -> [Substring] in
        let late = epoch >= 5
        return [hessianLine(epoch, late ? 1.0 : 0.2), epochLine(epoch, regret: late ? 0.08 : 0.01, parameterFree: late ? 4 : 1)]
    }

    @Test func aCollapsingRunMeetsEveryCriterionFromItsOnset() throws {
        let record = try RunRecord(lines: Self.collapsing, source: "test")
        #expect(record.epochs.count == 8 && record.epochs.allSatisfy { $0.lambdaMax != nil })
        let summary = RunSummary(record)
        #expect(summary.minimumRegret == 0.01 && summary.minimumRegretEpoch == 0)
        #expect(summary.collapse.regretRose == true && summary.collapse.parameterFree && summary.collapse.curvatureDoubled == true)
        #expect(summary.collapse.happened && summary.collapse.epoch == 5 && summary.collapse.wallTime == 60)
        #expect(abs(summary.earlyLambdaMax! - 0.2) < 1e-12 && summary.maximumLambdaMax == 1.0)
    }

    @Test func aRunThatKeepsAConvolutionDidNotCollapse() throws {
        var lines = Self.collapsing
        lines[lines.count - 1] = epochLine(7, regret: 0.08, parameterFree: 3)
        let summary = RunSummary(try RunRecord(lines: lines, source: "test"))
        #expect(!summary.collapse.parameterFree && !summary.collapse.happened && summary.collapse.epoch == nil)
        // A small rise of regret is not a collapse either: 0.01 → 0.025 is not 0.02 above the minimum.
        let noisy = (0..<4).map { epochLine($0, regret: $0 == 3 ? 0.025 : 0.01, parameterFree: 4) }
        #expect(RunSummary(try RunRecord(lines: noisy, source: "test")).collapse.regretRose == false)
        // Without a table regret is unknown, and the other criteria decide.
        let untabulated = (0..<4).map { epochLine($0, regret: nil, parameterFree: 4) }
        let summary2 = RunSummary(try RunRecord(lines: untabulated, source: "test"))
        #expect(summary2.collapse.regretRose == nil && summary2.collapse.curvatureDoubled == nil && summary2.collapse.happened)
    }

    /// `dartscope report RUN` labels its row with the run's own seed, read
    /// from the run description (a producer that declares none has no seed).
    @Test func theRecordKeepsTheRunsSeed() throws {
        func runLine(_ values: [String: ConfigValue]) -> Substring {
            Substring(TelemetryEvent(step: 0, epoch: 0, wallTime: 0, payload: .run(RunDescription(
                producer: "test", runName: "r", space: "tiny-s3", dataset: "synthetic", epochs: 8, stepsPerEpoch: 10,
                cells: ["normal"], cellTypes: ["normal"], edgeLabels: ["e0"], operations: ["normal": [["none", "skip_connect"]]],
                parameters: [], values: values))).jsonLine())
        }
        #expect(try RunRecord(lines: [runLine(["search.seed": .integer(4)])] + Self.collapsing, source: "t").seed == 4)
        #expect(try RunRecord(lines: [runLine([:])] + Self.collapsing, source: "t").seed == nil)
    }

    @Test func aRollbackReplacesTheEpochsItUndid() throws {
        var lines = Self.collapsing
        lines.append(epochLine(5, regret: 0.02, parameterFree: 2))
        let record = try RunRecord(lines: lines, source: "test")
        #expect(record.epochs.map(\.epoch) == [0, 1, 2, 3, 4, 5] && record.epochs.last?.regret == 0.02)
    }

    @Test func aTornLastLineIsIgnoredAndADamagedLineIsAnError() throws {
        var lines = Self.collapsing
        lines.append("{\"type\":\"epo")
        #expect(try RunRecord(lines: lines, source: "test").epochs.count == 8)
        lines.insert("not json", at: 3)
        #expect(throws: ReportError.self) { try RunRecord(lines: lines, source: "test") }
    }

    @Test func anEarlyStopReturnsItsStopEpochsArchitecture() throws {
        var lines = Self.collapsing
        lines.append(Substring(TelemetryEvent(step: 80, epoch: 7, wallTime: 80, payload: .earlyStop(EarlyStop(stopEpoch: 3, genotype: "G"))).jsonLine()))
        let summary = RunSummary(try RunRecord(lines: lines, source: "test"))
        #expect(summary.returnedEpoch == 3 && summary.returnedRegret == 0.01 && summary.finalRegret == 0.08)
    }

    @Test func tableAndFiguresCoverEveryVariant() throws {
        let record = try RunRecord(lines: Self.collapsing, source: "test")
        let report = ExperimentReport(title: "t", runs: [
            .init(variant: "plain", seed: 1, record: record), .init(variant: "plain", seed: 2, record: record),
            .init(variant: "remedy", seed: 1, record: nil, failure: "exit 1: diverged"),
            .init(variant: "remedy", seed: 2, record: nil),
        ])
        #expect(report.variants == ["plain", "remedy"])
        let table = report.markdown
        #expect(table.contains("| plain | 2 | 0.080 ± 0.000 |"))
        #expect(table.contains("| remedy | 0 (+1 failed) (+1 not run yet) |") && table.contains("- remedy, seed 1: exit 1: diverged"))
        let files = report.figures.map(\.file)
        #expect(files == ["regret", "lambda_max", "parameter_free", "valid_accuracy", "discrete_accuracy"])
        let regret = report.figures[0].svg
        #expect(regret.hasPrefix("<svg") && regret.contains("<polygon") && regret.contains(">plain</text>"))
    }

    /// Per-layer α: each epoch keeps the cells' counts of the `alphas` event
    /// after it (not of one within the epoch), the table says from which epoch
    /// each cell stayed parameter-free, and a figure draws every cell.
    @Test func perLayerRunsReportEachCellsCollapse() throws {
        func alphasLine(_ epoch: Int, _ counts: [Int]) -> Substring {
            let layers = counts.map { AlphaMetrics.Layer(softmax: [[0.5, 0.5]], genotypeMarks: [[0, 0]], parameterFreeCount: $0) }
            return Substring(TelemetryEvent(step: 10 * (epoch + 1), epoch: epoch, wallTime: 0,
                                            payload: .alphas(AlphaMetrics(cellTypes: [], genotype: nil, layers: layers))).jsonLine())
        }
        // Cell 1 is parameter-free from epoch 3 (counted from 1) on; cell 0 once, in epoch 2, then not; cell 2 never.
        let counts = [[1, 2, 0], [4, 3, 1], [2, 4, 1], [3, 4, 2]]
        var lines: [Substring] = []
        for (epoch, cells) in counts.enumerated() {
            lines += [alphasLine(epoch, [4, 4, 4]), epochLine(epoch, regret: 0.01, parameterFree: 1), alphasLine(epoch, cells)]
        }
        let record = try RunRecord(lines: lines, source: "test")
        #expect(record.epochs.map(\.layerParameterFreeCounts) == counts)
        let report = ExperimentReport(title: "t", runs: [.init(variant: "per-layer", seed: 1, record: record),
                                                         .init(variant: "shared", seed: 1, record: try RunRecord(lines: Self.collapsing, source: "test"))])
        #expect(report.markdown.contains("| per-layer | 1 | 3 4 2 | c0 –, c1 3, c2 – |"), "\(report.markdown)")
        let perLayerSection = try #require(report.markdown.components(separatedBy: "## Per-layer α").last)
        #expect(!perLayerSection.contains("| shared |"), "a shared-α run has no per-layer line")
        let figure = try #require(report.figures.first { $0.file == "layer_parameter_free" })
        #expect(figure.svg.contains(">per-layer cell 2</text>") && !figure.svg.contains(">shared cell"))
    }

    @Test func ticksAreRoundAndCoverTheRange() {
        #expect(SVGChart.ticks(0.013, 0.087) == [0, 0.02, 0.04, 0.06, 0.08, 0.1])
        #expect(SVGChart.ticks(1, 20) == [0, 5, 10, 15, 20])
        #expect(SVGChart.ticks(3, 3) == [2.5, 3, 3.5])
        #expect(SVGChart(title: "empty", xLabel: "x", yLabel: "y", series: []).svg.contains("no data"))
    }
}
