import DartsEngine
import Foundation

/// Runs a search without the dashboard: progress on stderr, metrics to JSONL.
struct HeadlessRun {
    var options: RunOptions
    var metricsPath: String?

    func run() throws {
        let dataset = try options.loadDataset()
        let engine = try SearchEngine(config: options.config, dataset: dataset)
        let path = metricsPath ?? options.runDirectory + "/metrics.jsonl"
        let writer = try JSONLinesWriter(path: path)
        let progress = ProgressLine(engine: engine)
        engine.addSink(writer)
        engine.addSink(progress)
        let config = options.config
        log("dartscope: \(config.runName): \(config.space) on \(dataset.name) (\(dataset.count) images, \(engine.stepsPerEpoch) steps/epoch, \(config.epochs) epochs), C=\(config.initialChannels), \(config.layers) cells, \(engine.supernet.parameters.weightCount) weights; metrics → \(path)")
        while !engine.isFinished { engine.runStep() }
        progress.finish()
        if let reason = engine.divergence {
            log("dartscope: run diverged: \(reason)")
        }
        let genotype = engine.supernet.genotype()
        print(genotype.description)
        log("dartscope: normal-cell skip connections: \(genotype.normalSkipCount)")
    }
}

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// The one-line progress report on stderr: redrawn in place on a terminal,
/// a line every few seconds otherwise.
final class ProgressLine: MetricsSink {
    private unowned let engine: SearchEngine
    private let interactive = isatty(STDERR_FILENO) == 1
    private var lastPrint = Date.distantPast
    private var recentSteps: [(time: Double, step: Int)] = []
    private var lastLoss = Double.nan, lastAccuracy = Double.nan

    init(engine: SearchEngine) { self.engine = engine }

    func record(_ event: MetricEvent) {
        switch event.type {
        case "step":
            lastLoss = event["train_loss"]?.doubleValue ?? .nan
            lastAccuracy = event["train_acc"]?.doubleValue ?? .nan
            recentSteps.append((event.wallTime, event.step))
            if recentSteps.count > 50 { recentSteps.removeFirst() }
            let now = Date()
            if now.timeIntervalSince(lastPrint) >= (interactive ? 0.2 : 5) {
                lastPrint = now
                draw()
            }
        case "epoch":
            let valid = event["valid_acc"]?.doubleValue ?? .nan
            let skips = event["skip_count"].flatMap { if case .integer(let v) = $0 { v } else { nil } } ?? -1
            clear()
            log(String(format: "epoch %d: train loss %.4f acc %.4f | valid loss %.4f acc %.4f | skip %d",
                       event.epoch + 1, event["train_loss"]?.doubleValue ?? .nan, event["train_acc"]?.doubleValue ?? .nan,
                       event["valid_loss"]?.doubleValue ?? .nan, valid, skips))
        default:
            break
        }
    }

    var stepsPerSecond: Double {
        guard let first = recentSteps.first, let last = recentSteps.last, last.time > first.time else { return .nan }
        return Double(last.step - first.step) / (last.time - first.time)
    }

    private func draw() {
        let remaining = Double(engine.totalSteps - engine.step) / stepsPerSecond
        let line = String(format: "epoch %d/%d step %d/%d loss %.4f acc %.3f | %.2f steps/s ETA %@",
                          engine.epoch + 1, engine.config.epochs, engine.step, engine.totalSteps, lastLoss, lastAccuracy,
                          stepsPerSecond, formatDuration(remaining))
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            log(line)
        }
    }

    private func clear() {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    func finish() { clear() }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--" }
    let s = Int(seconds)
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
