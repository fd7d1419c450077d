/// A request to the running engine. Commands are applied at step boundaries,
/// and every applied command is journaled with the step it took effect at.
public enum ControlCommand: Codable, Equatable, Sendable, CustomStringConvertible {
    case pause
    case resume
    /// Run `count` steps, then pause.
    case step(count: Int)
    /// Run to the end of the current epoch, then pause.
    case stepEpoch
    /// Change a live parameter.
    case set(key: String, value: ConfigValue)
    case snapshot(name: String)
    case rollback(name: String)
    /// Keep the run so far as snapshot `fork-NAME` and go on as a new run
    /// NAME (its own folder, journal and metrics, the history copied).
    case fork(name: String)
    case stop

    public var description: String {
        switch self {
        case .pause: "pause"
        case .resume: "resume"
        case .step(let count): "step \(count)"
        case .stepEpoch: "step epoch"
        case .set(let key, let value): "set \(key) \(value)"
        case .snapshot(let name): "snapshot \(name)"
        case .rollback(let name): "rollback \(name)"
        case .fork(let name): "fork \(name)"
        case .stop: "stop"
        }
    }

    /// Whether replaying the command is needed to reproduce the run's numbers
    /// (pausing and stepping change only when things happen, not what; a
    /// fork changes only where the run is written, and the snapshot it
    /// leaves behind is journaled before it).
    public var changesResults: Bool {
        switch self {
        case .set, .rollback, .snapshot, .stop: true
        case .pause, .resume, .step, .stepEpoch, .fork: false
        }
    }
}

/// One applied command: what, and the step count at which it took effect
/// (it acted before step `step + 1` ran).
public struct JournalEntry: Codable, Equatable, Sendable {
    public var step: Int
    public var epoch: Int
    public var command: ControlCommand

    public init(step: Int, epoch: Int, command: ControlCommand) {
        self.step = step
        self.epoch = epoch
        self.command = command
    }
}
