import Dashboard
import DartsEngine
import Testing

/// Keys in, (view state, effects) out: the dashboard's input handling without a terminal.
@Suite("input handling")
struct InputHandlerTests {
    let snapshot: MetricsSnapshot = {
        var s = MetricsSnapshot.described(SearchConfig())
        s.snapshots = ["epoch-0001", "epoch-0002", "manual-step5"]
        return s
    }()

    /// Types `text` key by key, then the final key; returns every effect.
    func type(_ text: String, then final: Key? = .enter, into handler: inout InputHandler) -> [InputEffect] {
        var effects: [InputEffect] = []
        for character in text { effects += handler.handle(.character(character), snapshot) }
        if let final { effects += handler.handle(final, snapshot) }
        return effects
    }

    @Test func aSetCommandIsValidatedAliasedAndSent() {
        var handler = InputHandler()
        #expect(type(":set lambda 0.3", into: &handler) == [.send(.set(key: "lambda.value", value: .real(0.3)))])
        #expect(handler.view.mode == .normal && handler.commandHistory == ["set lambda 0.3"])
        #expect(type(":set optim.lr abc", into: &handler).isEmpty)
        #expect(handler.view.status.hasPrefix("error: invalid value 'abc' for optim.lr"))
        #expect(type(":set network.layers 3", into: &handler).isEmpty)
        #expect(handler.view.status.contains("network.layers cannot change while a search runs"))
        #expect(type(":set lambda.valeu 1", into: &handler).isEmpty)
        #expect(handler.view.status.contains("did you mean 'lambda.value'"))
        #expect(type(":frobnicate", into: &handler).isEmpty && handler.view.status.contains("unknown command"))
    }

    @Test func theParametersPanelFollowsTheKeyASetNames() {
        var handler = InputHandler()
        let live = snapshot.run.liveParameters.map(\.key)
        _ = type(":set lambda 0.3", into: &handler)
        #expect(live[handler.view.selectedParameter] == "lambda.value")
        _ = type(":set optim.lr abc", into: &handler)
        #expect(live[handler.view.selectedParameter] == "optim.lr", "a refused value still shows its row")
        _ = type(":set nonsense 1", into: &handler)
        #expect(live[handler.view.selectedParameter] == "optim.lr", "an unknown key moves nothing")
    }

    @Test func commandsBecomeEffects() {
        var handler = InputHandler()
        #expect(type(":snapshot keep", into: &handler) == [.send(.snapshot(name: "keep"))])
        #expect(type(":rollback epoch-0001", into: &handler) == [.send(.rollback(name: "epoch-0001"))])
        #expect(type(":fork other", into: &handler) == [.send(.fork(name: "other"))])
        #expect(type(":theme light", into: &handler) == [.applyTheme("light")])
        #expect(type(":export dot /tmp/x.dot", into: &handler) == [.export(what: "dot", path: "/tmp/x.dot")])
        _ = type(":help", into: &handler)
        #expect(handler.view.mode == .help)
        #expect(handler.handle(.character("x"), snapshot).isEmpty && handler.view.mode == .normal)
    }

    @Test func tabCompletesCommandsKeysSnapshotsAndThemes() {
        var handler = InputHandler(themeNames: ["dark", "light"])
        _ = type(":ro", then: .tab, into: &handler)
        #expect(handler.view.mode == .command("rollback "))
        _ = type("ep", then: .tab, into: &handler)
        #expect(handler.view.mode == .command("rollback epoch-000"), "the common prefix of two snapshots")
        _ = handler.handle(.escape, snapshot)
        _ = type(":set lambda.e", then: .tab, into: &handler)
        #expect(handler.view.mode == .command("set lambda.e"), "enabled and epsilon share no more")
        _ = type("n", then: .tab, into: &handler)
        #expect(handler.view.mode == .command("set lambda.enabled "))
        _ = handler.handle(.escape, snapshot)
        _ = type(":theme l", then: .tab, into: &handler)
        #expect(handler.view.mode == .command("theme light "))
        #expect(handler.complete("set network.lay", snapshot) == "set network.lay", "structural keys are not offered")
    }

    @Test func historyAndLineEditing() {
        var handler = InputHandler()
        _ = type(":snapshot a", into: &handler)
        _ = type(":snapshot b", into: &handler)
        _ = handler.handle(.character(":"), snapshot)
        _ = handler.handle(.up, snapshot)
        #expect(handler.view.mode == .command("snapshot b"))
        _ = handler.handle(.up, snapshot)
        #expect(handler.view.mode == .command("snapshot a"))
        _ = handler.handle(.down, snapshot)
        _ = handler.handle(.down, snapshot)
        #expect(handler.view.mode == .command(""))
        _ = handler.handle(.character("x"), snapshot)
        _ = handler.handle(.backspace, snapshot)
        _ = handler.handle(.backspace, snapshot)
        #expect(handler.view.mode == .normal, "backspace on an empty line leaves command mode")
    }

    @Test func keysSendCommandsAndMoveTheView() {
        var handler = InputHandler()
        #expect(handler.handle(.character(" "), snapshot) == [.send(.pause)])
        var paused = snapshot
        paused.state = .paused
        #expect(handler.handle(.character(" "), paused) == [.send(.resume)])
        #expect(handler.handle(.character("n"), snapshot) == [.send(.step(count: 1))])
        #expect(handler.handle(.character("l"), snapshot) == [.send(.set(key: "lambda.enabled", value: .flag(true)))])
        #expect(handler.handle(.character("+"), snapshot) == [.send(.set(key: "lambda.value", value: .real(0.25)))])
        #expect(handler.handle(.character("v"), snapshot) == [.send(.set(key: "lambda.variant", value: .text("signcorr")))])
        #expect(handler.handle(.character("e"), snapshot) == [.send(.set(key: "es.action", value: .text("stop")))])
        #expect(handler.handle(.character("t"), snapshot) == [.cycleTheme])
        _ = handler.handle(.character("r"), snapshot)
        #expect(handler.view.showReduce)
        for _ in 0..<10 { _ = handler.handle(.right, snapshot) }
        #expect(handler.view.selectedLayer == snapshot.run.cells.count - 1, "the layer stops at the last cell")
    }

    @Test func editingAParameterInPlace() {
        var handler = InputHandler()
        _ = handler.handle(.down, snapshot)
        _ = handler.handle(.enter, snapshot)
        let second = snapshot.run.liveParameters[1]
        #expect(handler.view.mode == .editing(key: second.key, text: snapshot.value(second.key)!.description))
        for _ in snapshot.value(second.key)!.description { _ = handler.handle(.backspace, snapshot) }
        #expect(type("0.05", into: &handler) == [.send(.set(key: second.key, value: .real(0.05)))])
    }

    @Test func quitAsksFirst() {
        var handler = InputHandler()
        _ = handler.handle(.character("q"), snapshot)
        #expect(handler.view.mode == .confirmQuit)
        #expect(handler.handle(.escape, snapshot).isEmpty && handler.view.mode == .normal)
        _ = handler.handle(.character("q"), snapshot)
        #expect(handler.handle(.character("y"), snapshot) == [.quit(snapshotFirst: true)])
        _ = type(":quit", into: &handler)
        #expect(handler.handle(.character("n"), snapshot) == [.quit(snapshotFirst: false)])
    }

    /// A diverged run writes no snapshot, so quitting one never asks for it.
    @Test func quittingADivergedRunTakesNoSnapshot() {
        var handler = InputHandler()
        var diverged = snapshot
        diverged.state = .diverged
        _ = handler.handle(.character("q"), diverged)
        #expect(handler.handle(.character("y"), diverged) == [.quit(snapshotFirst: false)])
    }

    /// Attached to a probe, `q` detaches without asking the remote search
    /// for a snapshot; only a confirmed `:stop` ends the search.
    @Test func detachingLeavesTheRemoteSearchAndStopIsConfirmed() {
        var handler = InputHandler()
        var remote = snapshot
        remote.source = RemoteSource(kind: .probe(address: "127.0.0.1:7797"), device: "cuda:0", worldSize: 2)
        _ = handler.handle(.character("q"), remote)
        #expect(handler.handle(.character("y"), remote) == [.quit(snapshotFirst: false)])
        for character in ":stop" { _ = handler.handle(.character(character), remote) }
        _ = handler.handle(.enter, remote)
        #expect(handler.view.mode == .confirmStop)
        #expect(handler.handle(.character("c"), remote).isEmpty && handler.view.mode == .normal)
        for character in ":stop" { _ = handler.handle(.character(character), remote) }
        _ = handler.handle(.enter, remote)
        #expect(handler.handle(.character("y"), remote) == [.send(.stop)])
        // The header names the remote run's source.
        let screen = DashboardView(glyphs: .unicode, shaded: false).render(remote, handler.view, width: 160, height: 50).text
        #expect(screen.contains("dartscope [probe 127.0.0.1:7797 cuda:0 ×2]"))
    }

    /// A viewer sends nothing: every command is refused with the reason.
    @Test func aViewerIsReadOnly() {
        var handler = InputHandler()
        var viewed = snapshot
        viewed.source = RemoteSource(kind: .metricsFile(path: "runs/x/metrics.jsonl"))
        #expect(handler.handle(.character(" "), viewed).isEmpty)
        #expect(handler.view.status.hasPrefix("read-only"))
        for character in ":set lambda 0.3" { _ = handler.handle(.character(character), viewed) }
        #expect(handler.handle(.enter, viewed).isEmpty)
        _ = handler.handle(.character("q"), viewed)
        #expect(handler.handle(.character("y"), viewed) == [.quit(snapshotFirst: false)])
    }
}
