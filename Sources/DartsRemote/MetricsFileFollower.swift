import DartsTelemetry
import Foundation

/// A finished or running search seen through its metrics file
/// (`dartscope view PATH`): read-only, the TensorBoard habit. Complete lines
/// are read as they are appended (a line still being written waits for its
/// newline); a file that shrinks was rewritten and is read again from the
/// start. Lines that do not decode are skipped and counted, not fatal.
public final class MetricsFileFollower: SearchConnection, @unchecked Sendable {
    // @unchecked: `stopped` is guarded by `lock`; everything else is the
    // follower thread's own.
    public let store = MetricsStore()
    public let path: String
    private let lock = NSLock()
    private var stopped = false
    private var started = false
    private let ended = DispatchSemaphore(value: 0)
    private var offset: UInt64 = 0
    private var pending: [UInt8] = []
    private var lineNumber = 0
    private var rejected = 0
    private var lastGrowth = Date()
    private var finished = false
    private var diverged = false

    /// A line longer than this is no event of ours (the longest, a
    /// paper-size `alignment`, is tens of kilobytes).
    static let maximumLineBytes = WireProtocol.maximumLineBytes
    /// How long a file may stand still before the run reads as STOPPED.
    static let quietSeconds = 5.0

    /// `path` is a run folder (its `metrics.jsonl` is read) or a metrics file.
    public init(path given: String) throws(RemoteError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory) else {
            throw .unreadable(given, reason: "no such file or run folder")
        }
        path = isDirectory.boolValue ? given + "/metrics.jsonl" : given
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .unreadable(path, reason: isDirectory.boolValue ? "the run folder has no readable metrics.jsonl" : "not readable")
        }
        store.update(source: RemoteSource(kind: .metricsFile(path: path)))
        readAppended()
    }

    public func start() {
        let thread = Thread { [self] in
            while !isStopped {
                Thread.sleep(forTimeInterval: 0.5)
                readAppended()
            }
            ended.signal()
        }
        thread.name = "dartscope-view"
        lock.lock()
        started = true
        lock.unlock()
        thread.start()
    }

    public func send(_ command: ControlCommand) {
        store.update(message: "read-only: \(path) takes no commands")
    }

    public func stopAndWait() {
        lock.lock()
        stopped = true
        let wasStarted = started
        lock.unlock()
        if wasStarted { _ = ended.wait(timeout: .now() + 2) }
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Reads what was appended since the last call and updates the state.
    func readAppended() {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        if size < offset {
            // Truncated or replaced: start over.
            offset = 0
            pending = []
            lineNumber = 0
            store.reset(run: .empty, values: [:], step: 0, epoch: 0, history: [], snapshots: [])
            finished = false
            diverged = false
        }
        if size > offset {
            lastGrowth = Date()
            try? handle.seek(toOffset: offset)
            // At most 64 MB per call: a huge file fills the store over a few polls, not one allocation.
            let chunk = (try? handle.read(upToCount: Int(min(size - offset, 64 << 20)))) ?? Data()
            offset += UInt64(chunk.count)
            absorb(chunk)
        }
        updateState()
    }

    private func absorb(_ chunk: Data) {
        var start = chunk.startIndex
        var events: [TelemetryEvent] = []
        while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
            pending.append(contentsOf: chunk[start..<newline])
            start = chunk.index(after: newline)
            lineNumber += 1
            defer { pending.removeAll(keepingCapacity: true) }
            guard !pending.isEmpty else { continue }
            do {
                events.append(try TelemetryEvent(jsonLine: String(decoding: pending, as: UTF8.self)))
            } catch {
                reject("line \(lineNumber) does not decode")
            }
        }
        pending.append(contentsOf: chunk[start...])
        if pending.count > Self.maximumLineBytes {
            reject("line \(lineNumber + 1) is longer than \(Self.maximumLineBytes) bytes")
            pending = []
        }
        for event in events {
            switch event.payload {
            case .diverged: diverged = true
            case .earlyStop: finished = true
            case .run: finished = false; diverged = false
            default: break
            }
            store.record(event)
        }
    }

    private func reject(_ reason: String) {
        rejected += 1
        if rejected == 1 || rejected.isMultiple(of: 100) { store.update(message: "\(path): skipped \(rejected) line(s); \(reason)") }
    }

    private func updateState() {
        let s = store.snapshot()
        let complete = finished || (s.totalSteps > 0 && s.step >= s.totalSteps)
        let state: RunState = diverged ? .diverged
            : complete ? .finished
            : Date().timeIntervalSince(lastGrowth) < Self.quietSeconds ? .running : .stopped
        if s.state != state { store.update(state: state) }
    }
}
