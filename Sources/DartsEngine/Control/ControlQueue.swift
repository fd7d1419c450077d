import Foundation

/// The commands the dashboard (or any other thread) sends to the engine
/// thread. Sending never blocks on the engine: it appends under a lock and
/// wakes the engine if it is waiting while paused.
public final class ControlQueue: @unchecked Sendable {
    // @unchecked: all state is guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [ControlCommand] = []

    public init() {}

    public func send(_ command: ControlCommand) {
        condition.lock()
        pending.append(command)
        condition.signal()
        condition.unlock()
    }

    /// Takes every waiting command, oldest first.
    func drain() -> [ControlCommand] {
        condition.lock()
        defer { condition.unlock() }
        let commands = pending
        pending.removeAll()
        return commands
    }

    /// Waits until a command arrives or `timeout` passes.
    func wait(timeout: TimeInterval) {
        condition.lock()
        if pending.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
        condition.unlock()
    }
}
