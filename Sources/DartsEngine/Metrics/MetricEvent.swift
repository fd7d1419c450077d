import Foundation

/// A JSON value, for metric fields of any shape (numbers, matrices, genotypes).
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
        case .number(let v): if v.isFinite { try container.encode(v) } else { try container.encodeNil() }
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

    public static func matrix(_ rows: [[Double]]) -> JSONValue { .array(rows.map { .array($0.map { .number($0) }) }) }
}

/// One line of the metrics file (DESIGN §8): a type, the step and epoch it
/// belongs to, the wall time, and the event's own fields.
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

    /// The event as one compact JSON object with sorted keys.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public subscript(field: String) -> JSONValue? { fields[field] }
}

/// Where the engine sends its metric events. Implementations must be cheap:
/// the engine calls them on its own thread between steps.
public protocol MetricsSink: AnyObject {
    func record(_ event: MetricEvent)
    /// The run now writes into `newDirectory` (after a fork); sinks that
    /// write a file inside `oldDirectory` follow it there.
    func runMoved(from oldDirectory: String, to newDirectory: String)
}

extension MetricsSink {
    public func runMoved(from oldDirectory: String, to newDirectory: String) {}
}

/// Appends events to a JSON Lines file, flushing after each line so a crash
/// loses nothing already reported.
public final class JSONLinesWriter: MetricsSink {
    private var handle: FileHandle
    public private(set) var path: String
    /// Which events reach the file (all when nil); the store still sees every one.
    public var include: ((MetricEvent) -> Bool)?

    public init(path: String, append: Bool = false) throws {
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !append || !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.path = path
    }

    deinit { try? handle.close() }

    public func record(_ event: MetricEvent) {
        if let include, !include(event) { return }
        handle.write(Data((event.jsonLine() + "\n").utf8))
    }

    /// A file inside the old run folder is copied to the same place in the
    /// new one and written there from now on (the fork keeps the history).
    public func runMoved(from oldDirectory: String, to newDirectory: String) {
        guard path.hasPrefix(oldDirectory + "/") else { return }
        let moved = newDirectory + path.dropFirst(oldDirectory.count)
        do {
            try handle.synchronize()
            try FileManager.default.createDirectory(atPath: (moved as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path, toPath: moved)
            let next = try FileHandle(forWritingTo: URL(fileURLWithPath: moved))
            try next.seekToEnd()
            try? handle.close()
            handle = next
            path = moved
        } catch {
            // Keep writing where we were: losing metrics would be worse than a split history.
        }
    }

    /// Keeps the high-volume per-step diagnostics to every `every`-th step.
    public static func decimating(_ types: Set<String>, every: Int) -> (MetricEvent) -> Bool {
        { event in !types.contains(event.type) || event.step % max(every, 1) == 0 }
    }
}

extension MetricEvent: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The same flat object as ``jsonLine()``: `type`, `step`, `epoch`,
    /// `wall_time` beside the event's own fields.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        type = try container.decode(String.self, forKey: Key(stringValue: "type"))
        step = try container.decode(Int.self, forKey: Key(stringValue: "step"))
        epoch = try container.decode(Int.self, forKey: Key(stringValue: "epoch"))
        wallTime = try container.decode(Double.self, forKey: Key(stringValue: "wall_time"))
        fields = [:]
        for key in container.allKeys where !["type", "step", "epoch", "wall_time"].contains(key.stringValue) {
            fields[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(type, forKey: Key(stringValue: "type"))
        try container.encode(step, forKey: Key(stringValue: "step"))
        try container.encode(epoch, forKey: Key(stringValue: "epoch"))
        try container.encode(wallTime, forKey: Key(stringValue: "wall_time"))
        for (key, value) in fields { try container.encode(value, forKey: Key(stringValue: key)) }
    }
}
