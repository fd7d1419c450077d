import Foundation

/// A command the engine refused; the run is unchanged.
public enum CommandError: Error, CustomStringConvertible, Equatable {
    case config(ConfigError)
    case snapshot(SnapshotError)
    case noSnapshotDirectory
    case invalidRunName(String, reason: String)

    public var description: String {
        switch self {
        case .config(let error): error.description
        case .snapshot(let error): error.description
        case .noSnapshotDirectory: "this run has no snapshot folder"
        case .invalidRunName(let name, let reason): "cannot fork as '\(name)': \(reason)"
        }
    }
}

extension SearchEngine {
    /// Applies a command that acts on the engine's state (set, snapshot,
    /// rollback) at the current step boundary, journals it and reports it as
    /// a `control` metric event. Returns a short confirmation for the user.
    /// On error nothing changes and nothing is journaled.
    @discardableResult
    public func apply(_ command: ControlCommand) throws(CommandError) -> String {
        let entry = JournalEntry(step: step, epoch: epoch, command: command)
        let message: String
        switch command {
        case .set(let key, let value):
            do {
                let change = try SearchParameters.liveChange(key, to: value)
                var updated = config
                updated.set(change.spec, to: change.value)
                try updated.validateCombination()
                config = updated
                message = "\(key) = \(try config.value(of: key))"
            } catch {
                throw .config(error)  // every call above throws ConfigError only
            }
        case .snapshot(let name):
            guard let directory = snapshotDirectory else { throw .noSnapshotDirectory }
            state.journal.append(entry)  // the snapshot's own journal includes its creation
            do {
                let path = try writeSnapshot(name: name, in: directory)
                appendToJournalFile(entry)
                message = "snapshot \(name) written to \(path)"
            } catch {
                state.journal.removeLast()
                emit(.error(ErrorReport(message: "snapshot \(name) failed: \(error)")))
                throw .snapshot(error as? SnapshotError ?? .io(path: name, reason: "\(error)"))
            }
            emit(.snapshot(SnapshotWritten(name: name, command: command.description)))
            return message
        case .rollback(let name):
            guard let directory = snapshotDirectory else { throw .noSnapshotDirectory }
            let path = directory + "/" + name
            guard FileManager.default.fileExists(atPath: path) else {
                throw .snapshot(.notFound(name, available: LoadedSnapshot.names(in: directory)))
            }
            do {
                let snapshot = try LoadedSnapshot(path: path)
                try restore(snapshot, keepingJournal: true)
                message = "rolled back to \(name) (step \(snapshot.step), epoch \(snapshot.epoch))"
            } catch let error as SnapshotError {
                throw .snapshot(error)
            } catch {
                throw .snapshot(.damaged(path: path, reason: "\(error)"))
            }
        case .fork(let name):
            return try fork(as: name, entry: entry)
        case .pause, .resume, .step, .stepEpoch, .stop:
            message = command.description
        }
        state.journal.append(entry)
        appendToJournalFile(entry)
        var key: String?
        if case .set(let changed, _) = command { key = changed }
        emit(.control(ControlApplied(command: command.description, key: key)))
        return message
    }

    /// `:fork NAME`: the run so far stays behind as snapshot `fork-NAME` in
    /// its own folder (resumable as the original), and the engine goes on as
    /// run NAME in a sibling folder that starts with the same snapshot, the
    /// journal so far and a copy of the metrics file.
    private func fork(as name: String, entry: JournalEntry) throws(CommandError) -> String {
        guard let directory = snapshotDirectory else { throw .noSnapshotDirectory }
        let runFolder = (directory as NSString).deletingLastPathComponent
        let newFolder = ((runFolder as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        if let problem = ParameterDescriptor.folderNameProblem(name) {
            throw .invalidRunName(name, reason: "a run name is one folder name, and \(problem)")
        }
        guard !FileManager.default.fileExists(atPath: newFolder) else {
            throw .invalidRunName(name, reason: "\(newFolder) already exists")
        }
        let snapshotName = "fork-" + name
        _ = try apply(.snapshot(name: snapshotName))
        state.journal.append(entry)
        appendToJournalFile(entry)
        let newSnapshots = newFolder + "/snapshots"
        do {
            try FileManager.default.createDirectory(atPath: newSnapshots, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: directory + "/" + snapshotName, toPath: newSnapshots + "/" + snapshotName)
            if let journalPath, FileManager.default.fileExists(atPath: journalPath) {
                try FileManager.default.copyItem(atPath: journalPath, toPath: newFolder + "/journal.jsonl")
            }
        } catch {
            throw .snapshot(.io(path: newFolder, reason: "\(error)"))
        }
        let oldName = config.runName
        config.runName = name
        snapshotDirectory = newSnapshots
        if journalPath != nil { journalPath = newFolder + "/journal.jsonl" }
        for sink in sinks { sink.runMoved(from: runFolder, to: newFolder) }
        emit(.fork(ForkReport(from: oldName, to: name, snapshot: runFolder + "/snapshots/" + snapshotName)))
        emit(.control(ControlApplied(command: entry.command.description)))
        return "forked: now run \(name) (\(newFolder)); \(oldName) continues with: dartscope resume \(runFolder)/snapshots/\(snapshotName)"
    }

    /// Mirrors journal entries into `journalPath` (JSON Lines), the file
    /// `dartscope run --journal` replays.
    func appendToJournalFile(_ entry: JournalEntry) {
        guard let journalPath, let data = try? JSONEncoder().encode(entry) else { return }
        try? DurableFiles.appendLine(data, to: journalPath)
    }

    /// Epoch-end snapshot `epoch-NNNN` (epochs completed), keeping the newest
    /// `snapshot.keep` of them, or more when a remedy may roll back further
    /// (DARTS-ADA).
    func writeEpochSnapshot() {
        let keep = max(config.snapshotKeep, remedies.map { $0.epochSnapshotsNeeded(engine: self) }.max() ?? 0)
        guard let directory = snapshotDirectory, keep > 0 else { return }
        let name = String(format: "epoch-%04d", epoch)
        do {
            try writeSnapshot(name: name, in: directory)
            emit(.snapshot(SnapshotWritten(name: name, command: "epoch end")))
        } catch {
            emit(.error(ErrorReport(message: "epoch snapshot failed: \(error)")))
        }
        let automatic = LoadedSnapshot.names(in: directory).filter { $0.hasPrefix("epoch-") }.sorted()
        for old in automatic.dropLast(keep) {
            try? FileManager.default.removeItem(atPath: directory + "/" + old)
        }
        AllocatorTuning.releaseFreedMemory()
    }
}

extension SearchConfig {
    /// Sets an already validated value.
    mutating func set(_ spec: ParameterSpec, to value: ConfigValue) { spec.write(&self, value) }
}

/// Re-applies a journal's result-changing commands at the steps they took
/// effect, so a run with live interventions is reproduced exactly.
public struct JournalReplay {
    public private(set) var pending: ArraySlice<JournalEntry>

    public init(_ journal: [JournalEntry]) {
        pending = journal.filter(\.command.changesResults)[...]
    }

    /// Applies every due entry before the engine's next step. Returns true
    /// when the journal says the run stopped here.
    public mutating func applyDue(to engine: SearchEngine) throws -> Bool {
        while let next = pending.first, next.step == engine.step {
            pending.removeFirst()
            if next.command == .stop { return true }
            try engine.apply(next.command)
        }
        return false
    }

    /// The entries of a journal file (JSON Lines) or of a snapshot manifest.
    /// A torn last line — no newline after it, as a killed writer leaves — is
    /// dropped and reported through `warn`; any other unreadable line is damage.
    public static func load(path: String, warn: (String) -> Void) throws -> [JournalEntry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotError.notFound(path, available: [])
        }
        if let manifest = try? TelemetryCoding.decoder().decode(SnapshotManifest.self, from: data) { return manifest.state.journal }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var entries: [JournalEntry] = []
        for (number, line) in lines.enumerated() where !line.isEmpty {
            do {
                entries.append(try JSONDecoder().decode(JournalEntry.self, from: Data(line.utf8)))
            } catch where number == lines.count - 1 {
                warn("\(path): dropped its torn last line (line \(number + 1), \(line.utf8.count) bytes without a newline)")
            } catch {
                throw SnapshotError.damaged(path: path, reason: "line \(number + 1) is not a journal entry")
            }
        }
        return entries
    }
}
