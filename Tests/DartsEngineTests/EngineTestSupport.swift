import DartsEngine
import Foundation

/// Small, fast search configurations and helpers for engine tests.
enum EngineFixture {
    static func config(space: String = "s3", epochs: Int = 2, seed: Int = 5) -> SearchConfig {
        var config = SearchConfig()
        config.runName = "test"
        config.dataset = "synthetic"
        config.subset = 64
        config.syntheticImageSize = 8
        config.syntheticClasses = 3
        config.space = space
        config.initialChannels = 2
        config.layers = 3
        config.batchSize = 8
        config.epochs = epochs
        config.seed = seed
        config.alphaEvery = 3
        config.snapshotKeep = 10
        return config
    }

    static func dataset(_ config: SearchConfig) -> Dataset {
        Dataset.synthetic(count: config.subset, classes: config.syntheticClasses, size: config.syntheticImageSize, seed: UInt64(config.seed))
    }

    static func engine(_ config: SearchConfig, snapshots: String? = nil) throws -> (SearchEngine, EventRecorder) {
        let engine = try SearchEngine(config: config, dataset: dataset(config))
        let recorder = EventRecorder()
        engine.addSink(recorder)
        engine.snapshotDirectory = snapshots
        return (engine, recorder)
    }

    /// Runs `engine` to its end and returns `value` once per epoch, read
    /// before the epoch's first step (a schedule a remedy computes from the
    /// epoch) or, with `afterFirstStep`, after it (a value the step sets).
    static func valuePerEpoch(running engine: SearchEngine, afterFirstStep: Bool = false,
                              _ value: (SearchEngine) -> Double) -> [Double] {
        var seen: [Double] = []
        while !engine.isFinished {
            let epoch = engine.epoch
            if !afterFirstStep, seen.count == epoch { seen.append(value(engine)) }
            engine.runStep()
            if afterFirstStep, seen.count == epoch { seen.append(value(engine)) }
        }
        return seen
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "dartscope-tests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Collects metric events; `comparable` drops the wall-clock fields so two
/// runs can be compared bit for bit.
final class EventRecorder: MetricsSink {
    private(set) var events: [MetricEvent] = []

    func record(_ event: TelemetryEvent) { events.append(MetricEvent(event)) }

    func comparable(types: Set<String> = ["step", "epoch", "alphas"], fromStep first: Int = 0) -> [String] {
        events.filter { types.contains($0.type) && $0.step >= first }.map { event in
            var copy = event
            copy.wallTime = 0
            copy.fields["step_time"] = nil
            return copy.jsonLine()
        }
    }
}

/// Where two event streams first differ, for short failure messages.
func firstDifference(_ a: [String], _ b: [String]) -> String {
    if a == b { return "identical" }
    guard let index = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
        return "lengths \(a.count) vs \(b.count)"
    }
    return "event \(index): \(a[index].prefix(300)) vs \(b[index].prefix(300))"
}
