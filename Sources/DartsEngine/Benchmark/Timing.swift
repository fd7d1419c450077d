import Foundation

/// Repeated timings of one piece of work, summarised robustly: these machines
/// are noisy, so benchmarks quote medians and spreads, never single runs.
public struct TimingSummary: Codable, Sendable {
    public var samples: [Double]

    public init(samples: [Double]) {
        require(!samples.isEmpty, "TimingSummary: no samples")
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
