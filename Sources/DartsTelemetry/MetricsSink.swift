import Foundation

/// Where a producer sends its telemetry events. Implementations must be
/// cheap: the engine calls them on its own thread between steps.
public protocol MetricsSink: AnyObject {
    func record(_ event: TelemetryEvent)
    /// The run now writes into `newDirectory` (after a fork); sinks that
    /// write a file inside `oldDirectory` follow it there.
    func runMoved(from oldDirectory: String, to newDirectory: String)
}

extension MetricsSink {
    public func runMoved(from oldDirectory: String, to newDirectory: String) {}
}

/// Appends events to a JSON Lines file, one write per line so a crash loses
/// nothing already reported.
public final class JSONLinesWriter: MetricsSink {
    private var handle: FileHandle
    public private(set) var path: String
    /// Which events reach the file (all when nil); the store still sees every one.
    public var include: ((TelemetryEvent) -> Bool)?
    private let encoder = TelemetryCoding.lineEncoder()
    /// Bytes of a torn last line (a killed writer's) dropped before appending.
    public private(set) var droppedTornBytes = 0

    public init(path: String, append: Bool = false) throws {
        let manager = FileManager.default
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try manager.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !append || !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }
        handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        droppedTornBytes = try JSONLines.dropTornLastLine(of: handle.fileDescriptor)
        try handle.seekToEnd()
        self.path = path
    }

    deinit { try? handle.close() }

    public func record(_ event: TelemetryEvent) {
        if let include, !include(event) { return }
        guard var line = try? encoder.encode(event) else { return }
        line.append(UInt8(ascii: "\n"))
        handle.write(line)
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
    public static func decimating(_ types: Set<String>, every: Int) -> (TelemetryEvent) -> Bool {
        { event in !types.contains(event.type) || event.step % max(every, 1) == 0 }
    }
}

/// A search a dashboard can watch and steer: its metrics store and a way to
/// send it commands. The in-process engine is one; a probe in a PyTorch
/// process (docs/attach.md) can be another.
public protocol SearchConnection: AnyObject, Sendable {
    var store: MetricsStore { get }
    /// Queues a command; it takes effect at the search's next step boundary.
    func send(_ command: ControlCommand)
    /// Stops the search and returns once it has ended.
    func stopAndWait()
}
