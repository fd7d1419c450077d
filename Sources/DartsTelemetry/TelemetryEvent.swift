import Foundation

/// A payload of a telemetry event: one struct per event type.
public protocol EventPayload: Codable, Sendable, Equatable {
    /// The `type` field of the event's JSON line.
    static var type: String { get }
}

/// One line of a metrics stream (DESIGN §9): the step and epoch it belongs
/// to, the wall time since the run started, and a typed payload. On disk it
/// is one flat JSON object: `type`, `step`, `epoch`, `wall_time` beside the
/// payload's own fields.
public struct TelemetryEvent: Sendable, Equatable {
    public enum Payload: Sendable, Equatable {
        case run(RunDescription)
        case step(StepMetrics)
        case epoch(EpochMetrics)
        case alphas(AlphaMetrics)
        case alignment(AlignmentMetrics)
        case hessian(HessianMetrics)
        case earlyStopping(EarlyStoppingReport)
        case earlyStop(EarlyStop)
        case adaptation(Adaptation)
        case lambda(LambdaHealth)
        case control(ControlApplied)
        case snapshot(SnapshotWritten)
        case error(ErrorReport)
        case diverged(Divergence)
        case fork(ForkReport)
        /// A type this reader does not know (a newer producer): kept as read.
        case unknown(type: String, fields: [String: JSONValue])
    }

    public var step: Int
    public var epoch: Int
    public var wallTime: Double
    public var payload: Payload

    public init(step: Int, epoch: Int, wallTime: Double, payload: Payload) {
        self.step = step
        self.epoch = epoch
        self.wallTime = wallTime
        self.payload = payload
    }

    public var type: String {
        switch payload {
        case .run: RunDescription.type
        case .step: StepMetrics.type
        case .epoch: EpochMetrics.type
        case .alphas: AlphaMetrics.type
        case .alignment: AlignmentMetrics.type
        case .hessian: HessianMetrics.type
        case .earlyStopping: EarlyStoppingReport.type
        case .earlyStop: EarlyStop.type
        case .adaptation: Adaptation.type
        case .lambda: LambdaHealth.type
        case .control: ControlApplied.type
        case .snapshot: SnapshotWritten.type
        case .error: ErrorReport.type
        case .diverged: Divergence.type
        case .fork: ForkReport.type
        case .unknown(let type, _): type
        }
    }

    /// The event as one compact JSON object with sorted keys.
    public func jsonLine() -> String {
        let data = (try? TelemetryCoding.lineEncoder().encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads one JSON line.
    public init(jsonLine: some StringProtocol) throws {
        self = try TelemetryCoding.decoder().decode(TelemetryEvent.self, from: Data(jsonLine.utf8))
    }
}

/// Encoders and decoders with the stream's conventions: sorted keys, and
/// non-finite numbers as the strings `nan`, `inf`, `-inf` (a diverged loss
/// must be visible as such, not as a missing value).
public enum TelemetryCoding {
    public static func lineEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

extension TelemetryEvent: Codable {
    private enum HeaderKey: String, CodingKey { case type, step, epoch, wallTime = "wall_time" }

    public init(from decoder: Decoder) throws {
        let header = try decoder.container(keyedBy: HeaderKey.self)
        step = try header.decode(Int.self, forKey: .step)
        epoch = try header.decode(Int.self, forKey: .epoch)
        wallTime = try header.decode(Double.self, forKey: .wallTime)
        let type = try header.decode(String.self, forKey: .type)
        switch type {
        case RunDescription.type: payload = .run(try RunDescription(from: decoder))
        case StepMetrics.type: payload = .step(try StepMetrics(from: decoder))
        case EpochMetrics.type: payload = .epoch(try EpochMetrics(from: decoder))
        case AlphaMetrics.type: payload = .alphas(try AlphaMetrics(from: decoder))
        case AlignmentMetrics.type: payload = .alignment(try AlignmentMetrics(from: decoder))
        case HessianMetrics.type: payload = .hessian(try HessianMetrics(from: decoder))
        case EarlyStoppingReport.type: payload = .earlyStopping(try EarlyStoppingReport(from: decoder))
        case EarlyStop.type: payload = .earlyStop(try EarlyStop(from: decoder))
        case Adaptation.type: payload = .adaptation(try Adaptation(from: decoder))
        case LambdaHealth.type: payload = .lambda(try LambdaHealth(from: decoder))
        case ControlApplied.type: payload = .control(try ControlApplied(from: decoder))
        case SnapshotWritten.type: payload = .snapshot(try SnapshotWritten(from: decoder))
        case ErrorReport.type: payload = .error(try ErrorReport(from: decoder))
        case Divergence.type: payload = .diverged(try Divergence(from: decoder))
        case ForkReport.type: payload = .fork(try ForkReport(from: decoder))
        default:
            let record = try MetricEvent(from: decoder)
            payload = .unknown(type: type, fields: record.fields)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var header = encoder.container(keyedBy: HeaderKey.self)
        try header.encode(type, forKey: .type)
        try header.encode(step, forKey: .step)
        try header.encode(epoch, forKey: .epoch)
        try header.encode(wallTime, forKey: .wallTime)
        switch payload {
        case .run(let p): try p.encode(to: encoder)
        case .step(let p): try p.encode(to: encoder)
        case .epoch(let p): try p.encode(to: encoder)
        case .alphas(let p): try p.encode(to: encoder)
        case .alignment(let p): try p.encode(to: encoder)
        case .hessian(let p): try p.encode(to: encoder)
        case .earlyStopping(let p): try p.encode(to: encoder)
        case .earlyStop(let p): try p.encode(to: encoder)
        case .adaptation(let p): try p.encode(to: encoder)
        case .lambda(let p): try p.encode(to: encoder)
        case .control(let p): try p.encode(to: encoder)
        case .snapshot(let p): try p.encode(to: encoder)
        case .error(let p): try p.encode(to: encoder)
        case .diverged(let p): try p.encode(to: encoder)
        case .fork(let p): try p.encode(to: encoder)
        case .unknown(_, let fields):
            var container = encoder.container(keyedBy: FieldKey.self)
            for (key, value) in fields { try container.encode(value, forKey: FieldKey(key)) }
        }
    }
}

/// Any event line read generically: its header and its fields as JSON
/// values, whatever its type (for tools and tests that inspect fields by
/// name).
public struct MetricEvent: Sendable, Equatable {
    public var type: String
    public var step: Int
    public var epoch: Int
    public var wallTime: Double
    public var fields: [String: JSONValue]

    public init(type: String, step: Int, epoch: Int, wallTime: Double, fields: [String: JSONValue] = [:]) {
        self.type = type
        self.step = step
        self.epoch = epoch
        self.wallTime = wallTime
        self.fields = fields
    }

    /// The generic view of a typed event (its JSON line, read back).
    public init(_ event: TelemetryEvent) {
        let line = event.jsonLine()
        self = (try? TelemetryCoding.decoder().decode(MetricEvent.self, from: Data(line.utf8)))
            ?? MetricEvent(type: event.type, step: event.step, epoch: event.epoch, wallTime: event.wallTime)
    }

    /// The event as one compact JSON object with sorted keys.
    public func jsonLine() -> String {
        let data = (try? TelemetryCoding.lineEncoder().encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public subscript(field: String) -> JSONValue? { fields[field] }
}

extension MetricEvent: Codable {
    private static let headerKeys: Set<String> = ["type", "step", "epoch", "wall_time"]

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: FieldKey.self)
        type = try container.decode(String.self, forKey: FieldKey("type"))
        step = try container.decode(Int.self, forKey: FieldKey("step"))
        epoch = try container.decode(Int.self, forKey: FieldKey("epoch"))
        wallTime = try container.decode(Double.self, forKey: FieldKey("wall_time"))
        fields = [:]
        for key in container.allKeys where !Self.headerKeys.contains(key.stringValue) {
            fields[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: FieldKey.self)
        try container.encode(type, forKey: FieldKey("type"))
        try container.encode(step, forKey: FieldKey("step"))
        try container.encode(epoch, forKey: FieldKey("epoch"))
        try container.encode(wallTime, forKey: FieldKey("wall_time"))
        for (key, value) in fields { try container.encode(value, forKey: FieldKey(key)) }
    }
}
