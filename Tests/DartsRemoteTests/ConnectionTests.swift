@testable import DartsRemote
import DartsTelemetry
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fake probe on a Unix socket: answers the hello with the given lines,
/// records what the dashboard sends, and hangs up when told.
final class FakeProbe: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var client: Int32 = -1

    init(answer: [String]) throws {
        path = NSTemporaryDirectory() + "fake-probe-\(UUID().uuidString.prefix(8)).sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard bound == 0, listen(listener, 4) == 0 else { throw RemoteError.cannotConnect(path, reason: "bind") }
        let fd = listener
        Thread { [self] in
            let connection = accept(fd, nil, nil)
            lock.lock(); client = connection; lock.unlock()
            let payload = answer.map { $0 + "\n" }.joined()
            _ = payload.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(connection, &buffer, buffer.count, 0)
                if count <= 0 { break }
                lock.lock(); received.append(String(decoding: buffer[..<count], as: UTF8.self)); lock.unlock()
            }
        }.start()
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return received.joined() }

    func hangUp() {
        lock.lock(); let c = client; lock.unlock()
        shutdown(c, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }
}

func waitFor(_ condition: () -> Bool) -> Bool {
    for _ in 0..<100 where !condition() { Thread.sleep(forTimeInterval: 0.05) }
    return condition()
}

@Suite(.serialized) struct ConnectionTests {
    static let hello = #"{"type": "hello", "schema": 2, "producer": "fake", "device": "cuda:0", "world_size": 4}"#
    static let run = #"{"type": "run", "step": 0, "epoch": 0, "wall_time": 0, "schema": 2, "producer": "fake", "run_name": "remote", "space": "darts", "dataset": "cifar10", "epochs": 50, "steps_per_epoch": 390, "cells": [], "cell_types": ["normal"], "edge_labels": ["e"], "operations": {"normal": [["none", "skip_connect"]]}, "parameters": [{"key": "optim.lr", "kind": {"real": {"_0": [0, 1]}}, "isLive": true, "documentation": ""}], "values": {"optim.lr": 0.025}}"#
    static let step = #"{"type": "step", "step": 7, "epoch": 0, "wall_time": 1, "train_loss": 2.3, "train_acc": 0.1, "valid_loss": "nan", "valid_acc": 0.1, "lr": 0.025, "grad_norm": 1, "clip_factor": 1, "step_time": 0.5}"#
    static let status = #"{"type": "status", "state": "PAUSED", "values": {"optim.lr": 0.025}, "snapshots": ["s1"]}"#

    @Test func attachingFillsTheStoreAndCommandsReachTheProbe() throws {
        let probe = try FakeProbe(answer: [Self.hello, Self.run, "garbage", Self.step, Self.status])
        let connection = try ProbeConnection(address: .unix(path: probe.path), token: nil)
        connection.start()
        #expect(waitFor { connection.store.snapshot().state == .paused })
        let s = connection.store.snapshot()
        #expect(s.run.runName == "remote" && s.step == 7 && s.steps.count == 1 && s.snapshots == ["s1"])
        #expect(s.steps[0].value.validLoss.isNaN)
        #expect(s.source?.label == "probe unix:\(probe.path) cuda:0 ×4")
        #expect(s.messages.contains { $0.contains("ignored 1 line") })
        connection.send(.set(key: "optim.lr", value: .real(0.01)))
        #expect(waitFor { probe.text.contains(#""set":{"key":"optim.lr","value":0.01}"#) })
        #expect(probe.text.hasPrefix(#"{"client":"dartscope","schema":2"#))
        // The probe goes away: the dashboard says so and keeps trying.
        probe.hangUp()
        #expect(waitFor { connection.store.snapshot().state == .disconnected })
        #expect(connection.store.snapshot().messages.last == "disconnected — retrying")
        connection.stopAndWait()
    }

    @Test func aSchemaMismatchIsAnErrorNamingBothVersions() throws {
        let probe = try FakeProbe(answer: [#"{"type": "hello", "schema": 3, "producer": "future"}"#])
        #expect(throws: RemoteError.schemaMismatch(probe: 3, dashboard: TelemetrySchema.version)) {
            try ProbeConnection(address: .unix(path: probe.path), token: nil)
        }
        probe.hangUp()
    }

    @Test func aRefusalSaysWhy() throws {
        let probe = try FakeProbe(answer: [#"{"type": "refused", "reason": "a token is required"}"#])
        #expect(throws: RemoteError.refused("unix:\(probe.path)", reason: "a token is required")) {
            try ProbeConnection(address: .unix(path: probe.path), token: nil)
        }
        probe.hangUp()
    }

    @Test func nothingListeningIsAClearError() {
        #expect(throws: RemoteError.self) { try ProbeConnection(address: .unix(path: "/nonexistent/p.sock"), token: nil) }
    }

    @Test func aViewerFollowsAGrowingFile() throws {
        let path = NSTemporaryDirectory() + "view-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let half = String(Self.step.prefix(40))
        try (Self.run + "\n" + "{oops\n" + Self.step + "\n" + half).write(toFile: path, atomically: true, encoding: .utf8)
        let viewer = try MetricsFileFollower(path: path)
        var s = viewer.store.snapshot()
        #expect(s.run.runName == "remote" && s.steps.count == 1 && s.state == .running)
        #expect(s.messages.contains { $0.contains("skipped 1 line") && $0.contains("line 2") })
        #expect(s.source?.acceptsCommands == false)
        // The torn line completes, another arrives: both are read once.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        handle.write(Data((String(Self.step.dropFirst(40)) + "\n" + Self.step.replacingOccurrences(of: "\"step\": 7", with: "\"step\": 8") + "\n").utf8))
        try handle.close()
        viewer.readAppended()
        s = viewer.store.snapshot()
        #expect(s.steps.map(\.step) == [7, 7, 8])
        viewer.send(.pause)
        #expect(viewer.store.snapshot().messages.last?.contains("read-only") == true)
        // Rewritten shorter: read again from the start.
        try (Self.run + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        viewer.readAppended()
        #expect(viewer.store.snapshot().steps.isEmpty)
        #expect(throws: RemoteError.self) { try MetricsFileFollower(path: "/nonexistent/metrics.jsonl") }
    }

    /// A line without end, longer than any event, is dropped and counted
    /// rather than buffered without bound; lines after it are read.
    @Test func aViewerDropsAnEndlessLine() throws {
        let path = NSTemporaryDirectory() + "view-giant-\(UUID().uuidString.prefix(8)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var contents = Data((Self.run + "\n").utf8)
        contents.append(Data(repeating: UInt8(ascii: "x"), count: WireProtocol.maximumLineBytes + 1))
        try contents.write(to: URL(fileURLWithPath: path))
        let viewer = try MetricsFileFollower(path: path)
        #expect(viewer.store.snapshot().messages.contains { $0.contains("longer than \(WireProtocol.maximumLineBytes) bytes") })
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        handle.write(Data(("tail of the giant\n" + Self.step + "\n").utf8))
        try handle.close()
        viewer.readAppended()
        #expect(viewer.store.snapshot().steps.map(\.step) == [7])
    }
}
