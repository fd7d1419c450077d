import DartsTelemetry
import Foundation

/// The attach wire protocol (docs/attach.md): JSON objects, one per line,
/// over a stream socket. The dashboard opens with a `hello` (its schema and,
/// for a non-loopback probe, the token); the probe answers with its own
/// `hello` (or `refused`), then the `run` event, its recent history and a
/// `status`, and from then on every telemetry event as it happens. Commands
/// go the other way as `{"type": "command", "command": <ControlCommand>}`.
public enum WireProtocol {
    /// The longest line either side accepts: a paper-size `alphas` or
    /// `alignment` event is tens of kilobytes.
    public static let maximumLineBytes = 8 << 20

    /// What the dashboard says first.
    public struct DashboardHello: Codable, Equatable, Sendable {
        public var type = "hello"
        public var schema = TelemetrySchema.version
        public var client = "dartscope"
        public var token: String?
    }

    public static func dashboardHello(token: String?) -> String {
        line(DashboardHello(token: token))
    }

    public static func commandLine(_ command: ControlCommand) -> String {
        struct Envelope: Encodable {
            var type = "command"
            var command: ControlCommand
        }
        return line(Envelope(command: command))
    }

    static func line(_ value: some Encodable) -> String {
        String(decoding: (try? TelemetryCoding.lineEncoder().encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// The probe's answer to the dashboard's hello.
    struct ProbeHello: Decodable {
        var schema: Int
        var producer: String?
        var device: String?
        var worldSize: Int?
        enum CodingKeys: String, CodingKey { case schema, producer, device, worldSize = "world_size" }
    }

    struct Refusal: Decodable { var reason: String? }

    struct Status: Decodable {
        var state: String?
        var values: [String: ConfigValue]?
        var snapshots: [String]?
        var message: String?
    }

    /// One line from a probe, sorted into what the dashboard does with it.
    public enum ProbeMessage: Equatable, Sendable {
        case hello(schema: Int, producer: String, device: String?, worldSize: Int?)
        case refused(reason: String)
        case status(state: RunState?, values: [String: ConfigValue]?, snapshots: [String]?, message: String?)
        case event(TelemetryEvent)
    }

    public static func parse(_ line: String) throws(RemoteError) -> ProbeMessage {
        struct Envelope: Decodable { var type: String? }
        let data = Data(line.utf8)
        let decoder = TelemetryCoding.decoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else {
            throw .protocolViolation("a line that is not a JSON object: \(line.prefix(80))")
        }
        do {
            switch envelope.type {
            case "hello":
                let hello = try decoder.decode(ProbeHello.self, from: data)
                return .hello(schema: hello.schema, producer: hello.producer ?? "probe", device: hello.device, worldSize: hello.worldSize)
            case "refused":
                return .refused(reason: try decoder.decode(Refusal.self, from: data).reason ?? "no reason given")
            case "status":
                let status = try decoder.decode(Status.self, from: data)
                return .status(state: status.state.flatMap(RunState.init(rawValue:)), values: status.values,
                               snapshots: status.snapshots, message: status.message)
            case nil:
                throw RemoteError.protocolViolation("a line without a type: \(line.prefix(80))")
            default:
                return .event(try TelemetryEvent(jsonLine: line))
            }
        } catch let error as RemoteError {
            throw error
        } catch {
            throw .protocolViolation("a \(envelope.type ?? "?") line that does not decode (\(error)): \(line.prefix(80))")
        }
    }
}
