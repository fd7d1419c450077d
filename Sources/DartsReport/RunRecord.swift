import DartsTelemetry
import Foundation

/// What a run's metrics file says, epoch by epoch: the series a report plots
/// and an experiment table summarises.
public struct RunRecord: Codable, Sendable, Equatable {
    /// One epoch end, with the epoch-end eigenvalue measured there.
    public struct Epoch: Codable, Sendable, Equatable {
        public var epoch: Int
        public var wallTime: Double
        public var validAccuracy: Double
        public var discreteValidAccuracy: Double?
        public var regret: Double?
        public var architecture: String?
        public var skipCount: Int
        /// Parameter-free normal edges; nil in files that predate the field.
        public var parameterFreeCount: Int?
        public var normalEdgeCount: Int?
        public var lambdaMax: Double?
        /// With per-layer α, each cell's parameter-free kept edges at the
        /// epoch end (from the `alphas` event that follows the epoch's).
        public var layerParameterFreeCounts: [Int]?
    }

    public var epochs: [Epoch] = []
    /// The epoch whose genotype DARTS-ES (or DARTS-ADA at its cap) returned.
    public var earlyStopEpoch: Int?
    public var earlyStopReason: String?
    /// Median of the weight steps' clip factors (1: never clipped).
    public var medianClipFactor: Double?
    /// Why the run failed: a divergence, an error event, or a line that is not an event.
    public var failure: String?
    /// The last event's wall time.
    public var wallTime: Double = 0
    /// `search.seed` as the run description gave it (nil for a producer
    /// that declares none, such as a probe).
    public var seed: Int?

    public init() {}

    /// A record saved with ``write(_:)``: what an experiment keeps of a
    /// finished run once its bulky metrics file is gone.
    public init(recordFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), data.count < 16 << 20 else {
            throw ReportError.unreadable(path: path, reason: "no such file, or larger than 16 MiB")
        }
        do { self = try JSONDecoder().decode(RunRecord.self, from: data) } catch {
            throw ReportError.unreadable(path: path, reason: "not a run record: \(error)")
        }
    }

    public func write(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a metrics file (JSON Lines). A rollback (DARTS-ADA, `:rollback`)
    /// makes later epochs replace the ones it undid; a torn last line (a run
    /// still writing, or killed) is ignored; any other unreadable line is a failure.
    public init(metricsFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReportError.unreadable(path: path, reason: "no such file")
        }
        try self.init(lines: String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true), source: path)
    }

    public init(lines: [Substring], source: String) throws {
        var clipFactors: [Double] = []
        var pendingEigenvalue: [Int: Double] = [:]
        for (number, line) in lines.enumerated() {
            let event: TelemetryEvent
            do { event = try TelemetryEvent(jsonLine: line) } catch {
                if number == lines.count - 1 { break }
                throw ReportError.unreadable(path: source, reason: "line \(number + 1) is not a telemetry event")
            }
            wallTime = max(wallTime, event.wallTime)
            switch event.payload {
            case .run(let run):
                if case .integer(let value)? = run.values["search.seed"] { seed = value }
            case .step(let step):
                clipFactors.append(step.clipFactor)
            case .hessian(let hessian) where hessian.atEpochEnd:
                // Emitted before its epoch's `epoch` event or after it, depending on the producer.
                if let index = epochs.lastIndex(where: { $0.epoch == event.epoch }) {
                    epochs[index].lambdaMax = hessian.eigenvalue
                } else {
                    pendingEigenvalue[event.epoch] = hessian.eigenvalue
                }
            case .epoch(let metrics):
                epochs.removeAll { $0.epoch >= event.epoch }
                epochs.append(Epoch(epoch: event.epoch, wallTime: event.wallTime, validAccuracy: metrics.validAccuracy,
                                    discreteValidAccuracy: metrics.discreteValidAccuracy, regret: metrics.regret,
                                    architecture: metrics.architecture, skipCount: metrics.skipCount,
                                    parameterFreeCount: metrics.parameterFreeCount, normalEdgeCount: metrics.normalEdgeCount,
                                    lambdaMax: pendingEigenvalue.removeValue(forKey: event.epoch)))
            case .alphas(let alphas):
                // The epoch-end report comes after its epoch's event; reports within an epoch come before it.
                if let layers = alphas.layers, let index = epochs.lastIndex(where: { $0.epoch == event.epoch }) {
                    epochs[index].layerParameterFreeCounts = layers.map(\.parameterFreeCount)
                }
            case .earlyStop(let stop):
                earlyStopEpoch = stop.stopEpoch
                earlyStopReason = stop.reason
            case .diverged(let divergence):
                failure = "diverged: \(divergence.reason)"
            case .error(let report):
                failure = report.message
            default:
                break
            }
        }
        medianClipFactor = clipFactors.isEmpty ? nil : median(clipFactors)
    }
}

/// A report's input could not be read.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .invalid(let message): message
        }
    }
}

/// The middle value (the mean of the two middle ones for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
