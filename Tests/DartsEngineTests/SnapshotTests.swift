import DartsEngine
import Foundation
import Testing

@Suite("snapshots and journal")
struct SnapshotTests {
    @Test(arguments: AlphaLayout.allCases)
    func resumingGivesTheUninterruptedRunBitForBit(_ layout: AlphaLayout) throws {
        let directory = EngineFixture.temporaryDirectory()
        var config = EngineFixture.config(epochs: 3)
        config.alphaLayout = layout
        let (original, recordOriginal) = try EngineFixture.engine(config, snapshots: directory)
        while !original.isFinished { original.runStep() }
        // epoch-0001 was written at the end of the first epoch (step 4).
        let snapshot = try LoadedSnapshot(path: directory + "/epoch-0001")
        #expect(snapshot.step == 4 && snapshot.epoch == 1)
        let (resumed, recordResumed) = try EngineFixture.engine(config)
        try resumed.restore(snapshot)
        while !resumed.isFinished { resumed.runStep() }
        let expected = recordOriginal.comparable(fromStep: 5)
        #expect(expected.count > 8)
        #expect(recordResumed.comparable(fromStep: 5) == expected, "\(firstDifference(recordResumed.comparable(fromStep: 5), expected))")
        #expect(resumed.supernet.parameters.weights == original.supernet.parameters.weights, "final weights differ")
        #expect(resumed.supernet.parameters.alphas == original.supernet.parameters.alphas, "final alphas differ")
        // What `genotype` and `export` read: the headline genotype and, with per-layer α, every cell's.
        let final = try SnapshotArchitecture(path: directory + "/epoch-0003")
        #expect(final.genotype == original.supernet.genotype())
        #expect(final.layerGenotypes == original.supernet.layerGenotypes())
        #expect((final.layerGenotypes == nil) == (layout == .shared))
        // What a dashboard lays itself out from, and draws per layer.
        #expect(original.runDescription.cells.count == original.supernet.shape.layers)
        let alphas = recordOriginal.events.filter { $0.type == "alphas" }
        #expect(!alphas.isEmpty && alphas.allSatisfy { ($0["layer_softmax"] != nil) == (layout == .perLayer) })
    }

    @Test func journalReplayReproducesLiveInterventions() throws {
        let directory = EngineFixture.temporaryDirectory()
        let (live, recordLive) = try EngineFixture.engine(EngineFixture.config(epochs: 3), snapshots: directory)
        for _ in 0..<3 { live.runStep() }
        try live.apply(.set(key: "optim.lr", value: .real(0.1)))
        for _ in 0..<2 { live.runStep() }
        try live.apply(.snapshot(name: "mark"))
        for _ in 0..<2 { live.runStep() }
        try live.apply(.rollback(name: "mark"))
        try live.apply(.set(key: "optim.arch_lr", value: .real(1e-2)))
        while !live.isFinished { live.runStep() }

        let replayDirectory = EngineFixture.temporaryDirectory()
        let (replayed, recordReplayed) = try EngineFixture.engine(EngineFixture.config(epochs: 3), snapshots: replayDirectory)
        var replay = JournalReplay(live.journal)
        while !replayed.isFinished {
            _ = try replay.applyDue(to: replayed)
            replayed.runStep()
        }
        #expect(replay.pending.isEmpty)
        #expect(recordReplayed.comparable() == recordLive.comparable(), "\(firstDifference(recordReplayed.comparable(), recordLive.comparable()))")
        #expect(live.journal.map(\.step) == [3, 5, 7, 5])
        // Without the journal the run differs.
        let (plain, recordPlain) = try EngineFixture.engine(EngineFixture.config(epochs: 3))
        while !plain.isFinished { plain.runStep() }
        #expect(recordPlain.comparable() != recordLive.comparable(), "the journal made no difference")
    }

    /// `:fork`: the original stays resumable from `fork-NAME` in its own
    /// folder; the engine goes on as the new run (snapshots, journal and
    /// metrics in the new folder, history copied), with the numbers it would
    /// have had anyway. A name that is taken is refused and changes nothing.
    @Test func forkLeavesTheOriginalAndContinuesAsTheNewRun() throws {
        let root = EngineFixture.temporaryDirectory()
        let config = EngineFixture.config(epochs: 2)
        let (engine, recorder) = try EngineFixture.engine(config, snapshots: root + "/a/snapshots")
        engine.journalPath = root + "/a/journal.jsonl"
        let writer = try JSONLinesWriter(path: root + "/a/metrics.jsonl")
        engine.addSink(writer)
        let (twin, twinRecorder) = try EngineFixture.engine(config)
        for _ in 0..<2 { engine.runStep(); twin.runStep() }
        try engine.apply(.set(key: "optim.lr", value: .real(0.05)))
        try twin.apply(.set(key: "optim.lr", value: .real(0.05)))

        try FileManager.default.createDirectory(atPath: root + "/taken", withIntermediateDirectories: true)
        #expect(throws: CommandError.self) { try engine.apply(.fork(name: "taken")) }
        #expect(throws: CommandError.self) { try engine.apply(.fork(name: "../escape")) }
        #expect(engine.config.runName == config.runName && engine.snapshotDirectory == root + "/a/snapshots")

        let message = try engine.apply(.fork(name: "b"))
        #expect(message.contains("dartscope resume \(root)/a/snapshots/fork-b"))
        #expect(engine.config.runName == "b" && engine.snapshotDirectory == root + "/b/snapshots")
        #expect(engine.journalPath == root + "/b/journal.jsonl" && writer.path == root + "/b/metrics.jsonl")
        let original = try LoadedSnapshot(path: root + "/a/snapshots/fork-b")
        #expect(original.step == 2 && original.config.runName == config.runName)
        #expect(FileManager.default.fileExists(atPath: root + "/b/snapshots/fork-b"))
        let copiedJournal = try JournalReplay.load(path: root + "/b/journal.jsonl", warn: { Issue.record("unexpected warning: \($0)") })
        #expect(copiedJournal.map(\.command) == [.set(key: "optim.lr", value: .real(0.05)), .snapshot(name: "fork-b"), .fork(name: "b")])

        while !engine.isFinished { engine.runStep() }
        while !twin.isFinished { twin.runStep() }
        #expect(recorder.comparable() == twinRecorder.comparable(), "\(firstDifference(recorder.comparable(), twinRecorder.comparable()))")
        #expect(LoadedSnapshot.names(in: root + "/b/snapshots").contains("epoch-0002"))
        #expect(!LoadedSnapshot.names(in: root + "/a/snapshots").contains("epoch-0002"))
        let metrics = try String(contentsOfFile: root + "/b/metrics.jsonl", encoding: .utf8)
        #expect(metrics.contains("\"step\":1,") && metrics.contains("\"type\":\"fork\""))
        // A replayed journal keeps the fork's snapshot and stays in its own run.
        #expect(JournalReplay(copiedJournal).pending.map(\.command) == [.set(key: "optim.lr", value: .real(0.05)), .snapshot(name: "fork-b")])
    }

    @Test func refusedCommandsChangeNothing() throws {
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        let before = engine.config
        #expect(throws: CommandError.config(.invalidValue(key: "optim.lr", value: "abc", allowed: "a number in 1e-08…10.0"))) {
            try engine.apply(.set(key: "optim.lr", value: .text("abc")))
        }
        #expect(throws: CommandError.config(.notLive("network.layers"))) {
            try engine.apply(.set(key: "network.layers", value: .integer(4)))
        }
        #expect(throws: CommandError.self) { try engine.apply(.set(key: "optim.lrr", value: .real(1))) }
        #expect(throws: CommandError.noSnapshotDirectory) { try engine.apply(.rollback(name: "nope")) }
        #expect(engine.config == before)
        #expect(engine.journal.isEmpty)
    }

    @Test func unknownSnapshotNamesTheAvailableOnes() throws {
        let directory = EngineFixture.temporaryDirectory()
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 1), snapshots: directory)
        try engine.apply(.snapshot(name: "first"))
        #expect(throws: CommandError.snapshot(.notFound("second", available: ["first"]))) {
            try engine.apply(.rollback(name: "second"))
        }
    }

    @Test func damagedAndForeignSnapshotsGiveClearErrors() throws {
        let directory = EngineFixture.temporaryDirectory()
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 1), snapshots: directory)
        engine.runStep()
        let path = try engine.writeSnapshot(name: "good", in: directory)
        _ = try LoadedSnapshot(path: path)
        let model = path + "/model.safetensors"
        let original = try Data(contentsOf: URL(fileURLWithPath: model))

        // Truncated tensor file.
        try original.prefix(original.count - 10).write(to: URL(fileURLWithPath: model))
        #expect(throws: SnapshotError.self) { try LoadedSnapshot(path: path) }
        do { _ = try LoadedSnapshot(path: path) } catch { #expect("\(error)".contains("truncated")) }

        // One flipped byte.
        var corrupted = original
        corrupted[corrupted.count / 2] ^= 0xFF
        try corrupted.write(to: URL(fileURLWithPath: model))
        do { _ = try LoadedSnapshot(path: path) } catch { #expect("\(error)".contains("crc32")) }

        // Truncated manifest.
        try original.write(to: URL(fileURLWithPath: model))
        let manifest = path + "/manifest.json"
        let manifestData = try Data(contentsOf: URL(fileURLWithPath: manifest))
        try manifestData.prefix(40).write(to: URL(fileURLWithPath: manifest))
        do { _ = try LoadedSnapshot(path: path) } catch { #expect("\(error)".contains("not valid JSON")) }

        // A folder that is not a snapshot, and a foreign manifest.
        let foreign = EngineFixture.temporaryDirectory()
        do { _ = try LoadedSnapshot(path: foreign) } catch { #expect("\(error)".contains("not a dartscope snapshot")) }
        try Data(#"{"format": "something-else"}"#.utf8).write(to: URL(fileURLWithPath: foreign + "/manifest.json"))
        do { _ = try LoadedSnapshot(path: foreign) } catch { #expect("\(error)".contains("expected dartscope-snapshot")) }
    }

    @Test func modelFileHoldsExactlyTheStateDictNames() throws {
        let directory = EngineFixture.temporaryDirectory()
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(space: "darts", epochs: 1), snapshots: directory)
        let path = try engine.writeSnapshot(name: "names", in: directory)
        let (entries, metadata) = try SafeTensors.decode(Data(contentsOf: URL(fileURLWithPath: path + "/model.safetensors")))
        let expected = engine.supernet.parameters.stateDictShapes
        #expect(Set(entries.keys) == Set(expected.map(\.name)))
        for (name, shape) in expected { #expect(entries[name]?.shape == shape, "\(name)") }
        #expect(metadata["format"] == "pt")
    }

    @Test func safeTensorsRoundTrip() throws {
        let entries: [SafeTensors.Entry] = [
            .init(name: "a", shape: [2, 3], data: .float32([1, 2, 3, 4, 5, 6])),
            .init(name: "n", shape: [], data: .int64([42])),
        ]
        let data = SafeTensors.encode(entries, metadata: ["k": "v"])
        let (decoded, metadata) = try SafeTensors.decode(data)
        #expect(decoded["a"] == entries[0])
        #expect(decoded["n"] == entries[1])
        #expect(metadata == ["k": "v"])
        #expect(throws: SafeTensors.Error.self) { try SafeTensors.decode(Data([1, 2, 3])) }
        var lying = data
        lying[0] = 0xFF  // header length beyond the file
        #expect(throws: SafeTensors.Error.self) { try SafeTensors.decode(lying) }
    }

    /// A file with this header and `bodyBytes` zero bytes of data.
    static func crafted(_ header: String, bodyBytes: Int) -> Data {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: bodyBytes))
        return data
    }

    /// Crafted headers are refused with a message naming what is wrong,
    /// before anything is allocated from their numbers — never a trap.
    @Test(arguments: [
        (#"{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#, 16, "negative dimension"),
        (#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, 16, "overflows"),
        (#"{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,16]}}"#, 16, "overflows"),
        (#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, 4096, "cover 16 of the 4096-byte"),
        (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 8, "cover 16 of the 8-byte"),
        (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,0]}}"#, 16, "outside"),
        (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}}"#, 16, "12 bytes for F32 shape [4]"),
        (#"{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}"#, 8, "unsupported dtype BF16"),
        (#"{"a":{"dtype":"F32","shape":"four","data_offsets":[0,16]}}"#, 16, "lacks dtype, shape or data_offsets"),
        (#"[1,2,3]"#, 0, "not a JSON object"),
    ])
    func hostileHeadersAreRefused(_ header: String, _ bodyBytes: Int, _ reason: String) {
        do {
            _ = try SafeTensors.decode(Self.crafted(header, bodyBytes: bodyBytes))
            Issue.record("accepted \(header)")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
        }
    }

    @Test func aHeaderLengthOverTheLimitIsRefused() {
        var data = Data()
        withUnsafeBytes(of: UInt64(SafeTensors.maximumHeaderBytes + 1).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(count: 64))
        #expect(throws: SafeTensors.Error.malformed("header length \(SafeTensors.maximumHeaderBytes + 1) is over the \(SafeTensors.maximumHeaderBytes)-byte limit")) {
            try SafeTensors.decode(data)
        }
    }
}
