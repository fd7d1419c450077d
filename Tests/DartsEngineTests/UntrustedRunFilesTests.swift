import DartsEngine
import Foundation
import Testing

/// Files a killed or tampered run leaves behind: each is refused with the
/// field named, or repaired, never trusted.
@Suite("untrusted run files")
struct UntrustedRunFilesTests {
    @Test func aJournalsTornLastLineIsDroppedWithAWarning() throws {
        let path = EngineFixture.temporaryDirectory() + "/journal.jsonl"
        let entry = try JSONEncoder().encode(JournalEntry(step: 3, epoch: 0, command: .set(key: "optim.lr", value: .real(0.1))))
        try (entry + Data("\n".utf8) + entry.prefix(entry.count / 2)).write(to: URL(fileURLWithPath: path))
        var warnings: [String] = []
        let entries = try JournalReplay.load(path: path, warn: { warnings.append($0) })
        #expect(entries.count == 1 && entries[0].step == 3)
        #expect(warnings.count == 1 && warnings[0].contains("torn last line"))
        // A damaged line with a newline after it is damage, not a tear.
        try (entry.prefix(entry.count / 2) + Data("\n".utf8) + entry + Data("\n".utf8)).write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotError.self) { try JournalReplay.load(path: path, warn: { _ in }) }
    }

    @Test func appendingAfterATornLineDropsItFirst() throws {
        let directory = EngineFixture.temporaryDirectory()
        let journal = directory + "/journal.jsonl"
        try Data("{\"a\":1}\n{\"b\":".utf8).write(to: URL(fileURLWithPath: journal))
        try DurableFiles.appendLine(Data("{\"c\":3}".utf8), to: journal)
        #expect(try String(contentsOfFile: journal, encoding: .utf8) == "{\"a\":1}\n{\"c\":3}\n")
        let metrics = directory + "/metrics.jsonl"
        try Data("{\"a\":1}\n{\"b\":".utf8).write(to: URL(fileURLWithPath: metrics))
        let writer = try JSONLinesWriter(path: metrics, append: true)
        #expect(writer.droppedTornBytes == 5)
        #expect(try String(contentsOfFile: metrics, encoding: .utf8) == "{\"a\":1}\n")
    }

    @Test func abandonedPartialSnapshotWritesAreRemovedAndLiveOnesKept() throws {
        let directory = EngineFixture.temporaryDirectory()
        let dead = ".epoch-0003.partial-2147483646", live = ".epoch-0004.partial-\(getpid())"
        for name in [dead, live, "epoch-0002"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + name, withIntermediateDirectories: true)
        }
        #expect(DurableFiles.removeAbandonedPartials(in: directory) == [dead])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == [live, "epoch-0002"])
    }

    /// Counters and sampler positions in a manifest are checked against the
    /// run before anything is restored.
    @Test(arguments: [
        ("stepInEpoch", "1000000", "step in epoch"),
        ("step", "-5", "step -5"),
        ("epoch", "-3", "epoch -3"),
        ("adamSteps", "999999", "Adam step count"),
    ])
    func impossibleCountersInAManifestAreRefused(field: String, value: String, expected: String) throws {
        let directory = EngineFixture.temporaryDirectory()
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 2), snapshots: directory)
        engine.runStep()
        let path = try engine.writeSnapshot(name: "s", in: directory)
        try tamper(path) { state in state[field] = Int(value)! }
        let (fresh, _) = try EngineFixture.engine(EngineFixture.config(epochs: 2))
        let before = fresh.supernet.parameters.weights
        do {
            try fresh.restore(try LoadedSnapshot(path: path))
            Issue.record("a manifest with \(field) = \(value) was restored")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
        #expect(fresh.supernet.parameters.weights == before && fresh.step == 0)
    }

    @Test func aSamplerOrderThatIsNoPermutationIsRefused() throws {
        let directory = EngineFixture.temporaryDirectory()
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 2), snapshots: directory)
        engine.runStep()
        let path = try engine.writeSnapshot(name: "s", in: directory)
        try tamper(path) { state in
            var sampler = state["trainSampler"] as! [String: Any]
            var order = sampler["order"] as! [Int]
            order[0] = 1_000_000
            sampler["order"] = order
            state["trainSampler"] = sampler
        }
        let (fresh, _) = try EngineFixture.engine(EngineFixture.config(epochs: 2))
        #expect(throws: SnapshotError.self) { try fresh.restore(try LoadedSnapshot(path: path)) }
    }

    /// Rewrites the manifest's state (keeping the tensor files' checksums valid).
    private func tamper(_ snapshot: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: snapshot + "/manifest.json")
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var state = manifest["state"] as! [String: Any]
        change(&state)
        manifest["state"] = state
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
    }
}
