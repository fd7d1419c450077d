import DartsTelemetry
import Foundation

/// A PyTorch search seen through its probe (`dartscope attach ADDRESS`):
/// the probe's events fill the metrics store, commands go back over the
/// same socket. The first connection is made in `init`, so a wrong address,
/// a refused token or a schema mismatch is an error the command prints
/// before any terminal is taken over; after that a lost connection shows
/// DISCONNECTED and is retried every second until the user quits.
///
/// Quitting detaches: the remote search goes on. Only `:stop` (confirmed)
/// ends it, as a command like any other.
public final class ProbeConnection: SearchConnection, @unchecked Sendable {
    // @unchecked: `socket` and `detached` are guarded by `lock`; the reader
    // thread alone touches the socket's read side.
    public let store = MetricsStore()
    public let address: RemoteAddress
    private let token: String?
    private let lock = NSLock()
    private var socket: LineSocket?
    private var detached = false
    private let readerEnded = DispatchSemaphore(value: 0)
    private var started = false

    public init(address: RemoteAddress, token: String?) throws(RemoteError) {
        self.address = address
        self.token = token
        socket = try handshake()
    }

    /// Starts reading the probe's stream on a thread of its own.
    public func start() {
        lock.lock()
        started = true
        lock.unlock()
        let thread = Thread { [self] in
            readLoop()
            readerEnded.signal()
        }
        thread.name = "dartscope-attach"
        thread.start()
    }

    public func send(_ command: ControlCommand) {
        lock.lock()
        let current = socket
        lock.unlock()
        guard let current, current.write(line: WireProtocol.commandLine(command)) else {
            store.update(message: "not sent (disconnected): \(command)")
            return
        }
    }

    /// Detaches; the remote search is left running.
    public func stopAndWait() {
        lock.lock()
        detached = true
        let current = socket
        let wasStarted = started
        lock.unlock()
        current?.shutDown()
        if wasStarted { _ = readerEnded.wait(timeout: .now() + 3) }
    }

    private var isDetached: Bool {
        lock.lock()
        defer { lock.unlock() }
        return detached
    }

    /// Connects, says hello and checks the probe's answer.
    private func handshake() throws(RemoteError) -> LineSocket {
        let connection = try LineSocket.connect(to: address)
        guard connection.write(line: WireProtocol.dashboardHello(token: token)) else {
            throw .cannotConnect(address.description, reason: "the probe closed the connection at once")
        }
        guard let line = try connection.readLine(limit: WireProtocol.maximumLineBytes) else {
            throw .protocolViolation("the connection closed before the probe's hello")
        }
        switch try WireProtocol.parse(line) {
        case .hello(let schema, _, let device, let worldSize):
            guard schema == TelemetrySchema.version else { throw .schemaMismatch(probe: schema, dashboard: TelemetrySchema.version) }
            store.update(source: RemoteSource(kind: .probe(address: address.description), device: device, worldSize: worldSize))
            return connection
        case .refused(let reason):
            throw .refused(address.description, reason: reason)
        default:
            throw .protocolViolation("the probe's first line is not a hello: \(line.prefix(80))")
        }
    }

    private func readLoop() {
        while !isDetached {
            lock.lock()
            let current = socket
            lock.unlock()
            if let current {
                follow(current)
                lock.lock()
                socket = nil
                lock.unlock()
                if isDetached { break }
                store.update(state: .disconnected, message: "disconnected — retrying")
            }
            Thread.sleep(forTimeInterval: 1)
            guard !isDetached else { break }
            do {
                let fresh = try handshake()
                lock.lock()
                socket = detached ? nil : fresh
                lock.unlock()
                store.update(message: "reconnected to \(address)")
            } catch .schemaMismatch(let probe, let dashboard) {
                // Retrying cannot help: someone restarted the search with another probe.
                store.update(message: "\(RemoteError.schemaMismatch(probe: probe, dashboard: dashboard)); not retrying")
                return
            } catch {
                continue  // still gone: the header keeps saying DISCONNECTED
            }
        }
    }

    /// Reads one connection's stream until it ends. A line that breaks the
    /// protocol is reported and skipped; an oversized one ends the connection.
    private func follow(_ connection: LineSocket) {
        var rejected = 0
        while true {
            let line: String?
            do { line = try connection.readLine(limit: WireProtocol.maximumLineBytes) } catch {
                store.update(message: "\(error); reconnecting")
                connection.shutDown()
                return
            }
            guard let line else { return }
            if line.isEmpty { continue }
            do {
                apply(try WireProtocol.parse(line))
            } catch {
                rejected += 1
                // Said once, then counted: a broken producer must not flood the status line.
                if rejected == 1 || rejected.isMultiple(of: 100) { store.update(message: "ignored \(rejected) line(s) from the probe: \(error)") }
            }
        }
    }

    private func apply(_ message: WireProtocol.ProbeMessage) {
        switch message {
        case .event(let event):
            if case .run(let run) = event.payload {
                // The probe's stream starts over (at connect, or after a
                // reconnect): its history follows.
                store.reset(run: run, values: run.values, step: event.step, epoch: event.epoch, history: [], snapshots: [])
            } else {
                store.record(event)
            }
        case .status(let state, let values, let snapshots, let message):
            store.update(state: state, values: values, snapshots: snapshots, message: message)
        case .hello, .refused:
            break  // only meaningful as the first line
        }
    }
}
