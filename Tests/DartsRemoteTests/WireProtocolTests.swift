@testable import DartsRemote
import DartsTelemetry
import Foundation
import Testing

@Suite struct WireProtocolTests {
    /// Everything a real probe sent a dashboard in one session decodes, as
    /// the message it is (not as an `unknown` event).
    @Test func aRecordedProbeSessionDecodes() throws {
        let url = try #require(Bundle.module.url(forResource: "probe_session", withExtension: "jsonl"))
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        let messages = try lines.map { try WireProtocol.parse($0) }
        guard case .hello(let schema, let producer, let device, let worldSize) = messages[0] else {
            Issue.record("first message \(messages[0])")
            return
        }
        #expect(schema == TelemetrySchema.version && producer.hasPrefix("dartscope-probe") && device == "cpu" && worldSize == 1)
        var types: Set<String> = []
        for message in messages {
            switch message {
            case .event(let event):
                if case .unknown(let type, _) = event.payload { Issue.record("undecoded \(type)") }
                types.insert(event.type)
            case .status(let state, let values, _, _):
                #expect(state != nil)
                #expect(values?["optim.lr"] != nil)
                types.insert("status")
            default: break
            }
        }
        #expect(types.isSuperset(of: ["run", "step", "alphas", "alignment", "epoch", "hessian", "control", "snapshot", "error", "status", "fork"]))
        // A rollback sends the run afresh at the snapshot's step; a fork under its new name.
        let runs = messages.compactMap { message -> (String, Int)? in
            guard case .event(let event) = message, case .run(let run) = event.payload else { return nil }
            return (run.runName, event.step)
        }
        #expect(runs.map(\.0) == ["fixture", "fixture", "fixture-fork"])
        #expect(runs[1].1 == 2)  // the snapshot was taken at step 2's boundary
        guard case .event(let first) = messages[1], case .run(let run) = first.payload else {
            Issue.record("second message is not the run")
            return
        }
        #expect(run.liveParameters.map(\.key).contains("optim.lr"))
        #expect(run.descriptor("optim.lr")?.kind == .real(0...10))
        // The dashboard validates `:set` from the probe's declaration.
        #expect(throws: ConfigError.self) { try run.descriptor("optim.lr")!.validate(.real(99)) }
    }

    @Test func brokenLinesAreProtocolViolations() {
        for line in ["", "not json", "[1, 2]", "{\"step\": 1}", "{\"type\": \"step\", \"step\": \"x\"}", "{\"type\": \"hello\"}"] {
            #expect(throws: RemoteError.self, "\(line)") { try WireProtocol.parse(line) }
        }
    }

    @Test func commandsGoOutInTheDocumentedForm() throws {
        let line = WireProtocol.commandLine(.set(key: "optim.lr", value: .real(0.01)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "command")
        let set = try #require((object["command"] as? [String: Any])?["set"] as? [String: Any])
        #expect(set["key"] as? String == "optim.lr" && set["value"] as? Double == 0.01)
        #expect(!line.contains("\n"))
        let hello = try #require(try JSONSerialization.jsonObject(with: Data(WireProtocol.dashboardHello(token: "t0k").utf8)) as? [String: Any])
        #expect(hello["type"] as? String == "hello" && hello["schema"] as? Int == TelemetrySchema.version && hello["token"] as? String == "t0k")
    }

    @Test func addressesParseOrSayWhy() throws {
        #expect(try RemoteAddress(parsing: "127.0.0.1:7797") == .tcp(host: "127.0.0.1", port: 7797))
        #expect(try RemoteAddress(parsing: "[::1]:80") == .tcp(host: "::1", port: 80))
        #expect(try RemoteAddress(parsing: "unix:/tmp/p.sock") == .unix(path: "/tmp/p.sock"))
        #expect(try RemoteAddress(parsing: "[::1]:80").description == "[::1]:80")
        for bad in ["7797", "host:", "host:0", "host:70000", ":80", "unix:", "unix:" + String(repeating: "a", count: 200)] {
            #expect(throws: RemoteError.self, "\(bad)") { try RemoteAddress(parsing: bad) }
        }
    }

    @Test func aSchemaMismatchNamesBothVersions() {
        let text = RemoteError.schemaMismatch(probe: 3, dashboard: 2).description
        #expect(text.contains("schema 3") && text.contains("schema 2"))
    }
}
