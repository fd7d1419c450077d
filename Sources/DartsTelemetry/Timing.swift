import Foundation

/// Repeated timings of one piece of work, summarised robustly: these machines
/// are noisy, so benchmarks quote medians and spreads, never single runs.
public struct TimingSummary: Codable, Sendable {
    public var samples: [Double]

    public init(samples: [Double]) {
        precondition(!samples.isEmpty, "TimingSummary: no samples")
        self.samples = samples
    }

    public var median: Double { percentile(0.5) }
    /// Half the distance between the 25th and 75th percentiles.
    public var spread: Double { (percentile(0.75) - percentile(0.25)) / 2 }
    public var minimum: Double { samples.min()! }

    public func percentile(_ q: Double) -> Double {
        let sorted = samples.sorted()
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down)), upper = Int(position.rounded(.up))
        let fraction = position - Double(lower)
        return sorted[lower] * (1 - fraction) + sorted[upper] * fraction
    }

    /// Collects timings of repeated work as it happens (the newest
    /// `capacity` of them).
    public struct Recorder: Sendable {
        public private(set) var samples: [Double] = []
        public var capacity = 100_000

        public init() {}

        public mutating func time(_ body: () -> Void) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            if samples.count >= capacity { samples.removeFirst(samples.count - capacity + 1) }
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }

        public var summary: TimingSummary? { samples.isEmpty ? nil : TimingSummary(samples: samples) }
    }

    /// Runs `body` `warmup` times untimed, then `repetitions` times timed (seconds).
    public static func measure(warmup: Int = 2, repetitions: Int = 10, _ body: () -> Void) -> TimingSummary {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return TimingSummary(samples: samples)
    }
}

/// CPU seconds the calling thread has used so far: what a helper thread
/// (the dashboard's UI loop) takes from the engine, free of the machine's
/// wall-clock noise.
public func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// A duration for people: `42s`, `4m05s`, `1h12m`; `--` when unknown.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--" }
    let s = Int(seconds)
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}
