/// A JSON value of any shape: the generic view of a telemetry line, for
/// tools that read events they do not know (and for tests).
public enum JSONValue: Codable, Equatable, Sendable {
    case number(Double)
    case integer(Int)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let v = try? container.decode(Bool.self) { self = .bool(v) }
        else if let v = try? container.decode(Int.self) { self = .integer(v) }
        else if let v = try? container.decode(Double.self) { self = .number(v) }
        else if let v = try? container.decode(String.self) { self = .string(v) }
        else if let v = try? container.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        // Non-finite numbers go as the encoder's strategy says (telemetry
        // coding writes "nan"), so a value survives a round trip.
        case .number(let v): try container.encode(v)
        case .integer(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        case .null: try container.encodeNil()
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .number(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }

    /// The value as a user reads it (strings unquoted).
    public var plainText: String {
        switch self {
        case .string(let s): s
        case .number(let v): formatReal(v)
        case .integer(let v): String(v)
        case .bool(let v): String(v)
        case .null: "null"
        case .array, .object: "…"
        }
    }

    public static func matrix(_ rows: [[Double]]) -> JSONValue { .array(rows.map { .array($0.map { .number($0) }) }) }
}

extension JSONValue {
    /// Any encodable value as JSON (through the stream's coding conventions).
    public init(encoding value: some Encodable) throws {
        let data = try TelemetryCoding.lineEncoder().encode(value)
        self = try TelemetryCoding.decoder().decode(JSONValue.self, from: data)
    }

    /// The value decoded as `type`.
    public func decoded<T: Decodable>(as type: T.Type) throws -> T {
        try TelemetryCoding.decoder().decode(T.self, from: try TelemetryCoding.lineEncoder().encode(self))
    }
}
