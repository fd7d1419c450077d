import DartsTelemetry
import Foundation

/// The interactive dashboard: ~10 redraws per second from the metrics store,
/// keys and `:` commands turned into ``ControlCommand``s. It knows the search
/// only through a ``SearchConnection``: its metrics store and command queue.
public final class DashboardApp {
    let connection: SearchConnection
    let terminal: Terminal
    var view = ViewState()
    let layout: DashboardView
    var commandHistory: [String] = []
    var historyIndex: Int?
    public private(set) var quitting = false
    /// Seconds each frame took to lay out and draw (the redraw cost the
    /// engine competes with), reported when the dashboard closes.
    public private(set) var frameTimes = TimingSummary.Recorder()
    /// CPU and wall-clock seconds of `run()` on the UI thread: everything the
    /// dashboard itself (not the terminal) took from the engine's cores.
    public private(set) var uiTime: (cpu: Double, wall: Double) = (0, 0)
    var seenMessages = 0

    public init(connection: SearchConnection, theme: Theme) {
        self.connection = connection
        terminal = Terminal(theme: theme)
        layout = DashboardView(glyphs: terminal.glyphs, shaded: terminal.monochrome, rampSteps: terminal.colors >= 256 ? 12 : 5)
    }

    /// Runs until the user quits; restores the terminal in every case.
    ///
    /// Redraws when the metrics store changed, a key arrived, the terminal
    /// was resized, or a second passed (steps/s and ETA): the engine keeps
    /// both cores busy, so identical frames would only slow the search.
    public func run() {
        let start = (cpu: threadCPUSeconds(), wall: Date())
        defer {
            terminal.end()
            uiTime = (threadCPUSeconds() - start.cpu, Date().timeIntervalSince(start.wall))
        }
        var snapshot = connection.store.snapshot()
        var drawn: (changes: Int, width: Int, height: Int, time: Date)?
        var viewChanged = true
        while !quitting {
            let changes = connection.store.changeCount
            let (width, height) = terminal.size
            if viewChanged || drawn.map({ $0.changes != changes || $0.width != width || $0.height != height
                                            || Date().timeIntervalSince($0.time) >= 1 }) ?? true {
                snapshot = connection.store.snapshot()
                if snapshot.messageCount != seenMessages, let last = snapshot.messages.last {
                    view.status = last  // the engine's answer to a command (or its error)
                    seenMessages = snapshot.messageCount
                }
                var current = layout
                current.shaded = terminal.monochrome
                frameTimes.time { terminal.draw(current.render(snapshot, view, width: width, height: height)) }
                drawn = (changes, width, height, Date())
                viewChanged = false
            }
            let keys = terminal.readKeys()
            for key in keys where !quitting { handle(key, snapshot) }
            viewChanged = !keys.isEmpty
            if SignalFlag.received { quit(snapshotFirst: true) }
        }
    }

    func quit(snapshotFirst: Bool) {
        if snapshotFirst { connection.send(.snapshot(name: "quit-" + timestamp())) }
        connection.stopAndWait()
        quitting = true
    }

    func timestamp() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: Date())
    }

    func handle(_ key: Key, _ s: MetricsSnapshot) {
        switch view.mode {
        case .help:
            view.mode = .normal
        case .confirmQuit:
            switch key {
            case .character("y"), .character("Y"): quit(snapshotFirst: true)
            case .character("n"), .character("N"): quit(snapshotFirst: false)
            default: view.mode = .normal
            }
        case .command(let text):
            editLine(key, text: text, history: true, completion: { self.complete($0, s) }) {
                view.mode = .command($0)
            } submit: { self.execute($0, s) }
        case .editing(let parameter, let text):
            editLine(key, text: text, history: false) { view.mode = .editing(key: parameter, text: $0) } submit: { value in
                self.sendSet(key: parameter, value: value, s)
            }
        case .normal:
            normalKey(key, s)
        }
    }

    /// Line editing shared by `:` commands and in-place parameter edits.
    func editLine(_ key: Key, text: String, history: Bool, completion: ((String) -> String)? = nil, update: (String) -> Void,
                  submit: @escaping (String) -> Void) {
        switch key {
        case .escape:
            view.mode = .normal
        case .enter:
            view.mode = .normal
            if history && !text.isEmpty { commandHistory.append(text); historyIndex = nil }
            submit(text)
        case .backspace:
            if text.isEmpty { view.mode = .normal } else { update(String(text.dropLast())) }
        case .tab:
            if let completion { update(completion(text)) }
        case .up where history && !commandHistory.isEmpty:
            let index = max(0, (historyIndex ?? commandHistory.count) - 1)
            historyIndex = index
            update(commandHistory[index])
        case .down where history && historyIndex != nil:
            let index = historyIndex! + 1
            historyIndex = index < commandHistory.count ? index : nil
            update(index < commandHistory.count ? commandHistory[index] : "")
        case .character(let c):
            update(text + String(c))
        default:
            break
        }
    }

    /// Completes the command word, a `:set` parameter key, a `:theme` name
    /// or a `:rollback` snapshot name.
    func complete(_ text: String, _ s: MetricsSnapshot) -> String {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let candidates: [String]
        if words.count <= 1 {
            candidates = ["set", "snapshot", "rollback", "fork", "theme", "export", "help", "quit"].filter { $0.hasPrefix(words.first ?? "") }
        } else if words.count == 2 && words[0] == "set" {
            candidates = s.run.liveParameters.map(\.key).filter { $0.hasPrefix(words[1]) }.map { "set " + $0 }
        } else if words.count == 2 && words[0] == "theme" {
            candidates = Theme.available().filter { $0.hasPrefix(words[1]) }.map { "theme " + $0 }
        } else if words.count == 2 && words[0] == "rollback" {
            candidates = s.snapshots.filter { $0.hasPrefix(words[1]) }.map { "rollback " + $0 }
        } else {
            return text
        }
        guard let first = candidates.first else { return text }
        let common = candidates.dropFirst().reduce(first) { prefix, next in String(zip(prefix, next).prefix { $0 == $1 }.map(\.0)) }
        return candidates.count == 1 ? common + " " : common
    }

    func normalKey(_ key: Key, _ s: MetricsSnapshot) {
        let live = s.run.liveParameters
        switch key {
        case .character(" "): send(s.state == .paused || s.state == .stepping ? .resume : .pause)
        case .character("n"): send(.step(count: 1))
        case .character("N"): send(.stepEpoch)
        case .character("s"): send(.snapshot(name: "manual-step\(s.step)"))
        case .character("l"): send(.set(key: "lambda.enabled", value: .flag(!s.flag("lambda.enabled"))))
        case .character("+"): send(.set(key: "lambda.value", value: .real(max(s.real("lambda.value") ?? 0, 1e-3) * 2)))
        case .character("-"): send(.set(key: "lambda.value", value: .real((s.real("lambda.value") ?? 0) / 2)))
        case .character("v"): cycle("lambda.variant", s)
        case .character("e"): cycle("es.action", s)
        case .character("r"): view.showReduce.toggle()
        case .character("t"): cycleTheme()
        case .character("?"): view.mode = .help
        case .character(":"): view.mode = .command("")
        case .character("q"): view.mode = .confirmQuit
        case .left: view.selectedLayer = max(0, view.selectedLayer - 1)
        case .right: view.selectedLayer = max(0, min(s.run.cells.count - 1, view.selectedLayer + 1))
        case .up: view.selectedParameter = max(0, view.selectedParameter - 1)
        case .down, .tab: view.selectedParameter = max(0, min(live.count - 1, view.selectedParameter + 1))
        case .backTab: view.selectedParameter = max(0, view.selectedParameter - 1)
        case .enter where !live.isEmpty:
            let parameter = live[min(view.selectedParameter, live.count - 1)]
            view.mode = .editing(key: parameter.key, text: s.value(parameter.key)?.description ?? "")
        default: break
        }
    }

    /// Sends the next option of a choice parameter (`v`, `e`).
    func cycle(_ key: String, _ s: MetricsSnapshot) {
        let options = s.run.descriptor(key)?.options ?? []
        guard !options.isEmpty else { return }
        let next = options[((options.firstIndex(of: s.text(key) ?? "") ?? -1) + 1) % options.count]
        send(.set(key: key, value: .text(next)))
    }

    func send(_ command: ControlCommand) {
        connection.send(command)
        view.status = "sent: \(command)"
    }

    /// Checks a typed value against the parameter's table entry first, so a
    /// mistake is answered at once rather than at the engine's next step
    /// boundary (which can be an epoch-end eigenvalue away). The engine
    /// still validates what it applies, combinations included.
    func sendSet(key: String, value text: String, _ s: MetricsSnapshot) {
        let value = ConfigValue.parse(text)
        do {
            _ = try s.run.parameters.liveChange(key, to: value)
        } catch {
            view.status = "error: \(error)"
            return
        }
        send(.set(key: key, value: value))
    }

    func cycleTheme() {
        let names = Theme.available()
        guard !names.isEmpty else { return }
        let next = names[((names.firstIndex(of: terminal.theme.name) ?? -1) + 1) % names.count]
        applyTheme(next)
    }

    func applyTheme(_ name: String) {
        do {
            terminal.setTheme(try Theme.load(name))
            view.status = "theme \(name)"
        } catch {
            view.status = "error: \(error)"
        }
    }

    /// `:` commands. A `:set` value is checked here first and again by the engine (status line).
    func execute(_ line: String, _ s: MetricsSnapshot) {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return }
        switch (verb, words.count) {
        case ("set", 3):
            sendSet(key: Self.aliases[words[1]] ?? words[1], value: words[2], s)
        case ("snapshot", 2): send(.snapshot(name: words[1]))
        case ("rollback", 2): send(.rollback(name: words[1]))
        case ("fork", 2): send(.fork(name: words[1]))
        case ("theme", 2): applyTheme(words[1])
        case ("export", 3): export(words[1], to: words[2], s)
        case ("help", 1): view.mode = .help
        case ("quit", 1), ("q", 1): view.mode = .confirmQuit
        default:
            view.status = "error: unknown command ':\(line)' (try :help)"
        }
    }

    /// Short names for the most used parameters (`:set lambda 0.3`).
    static let aliases = ["lambda": "lambda.value", "lr": "optim.lr", "wd": "optim.weight_decay", "factor": "es.factor"]

    func export(_ what: String, to path: String, _ s: MetricsSnapshot) {
        let content: String
        switch what {
        case "genotype":
            guard let genotype = s.lastEpoch?.value.genotype else {
                view.status = "error: no genotype yet (after the first epoch)"
                return
            }
            content = genotype + "\n"
        case "dot":
            guard let genotype = s.lastAlphas?.value.genotype else { view.status = "error: no α yet"; return }
            content = genotype.dot + "\n"
        case "metrics":
            let steps = s.steps.map { TelemetryEvent(step: $0.step, epoch: $0.epoch, wallTime: $0.wallTime, payload: .step($0.value)) }
            let epochs = s.epochs.map { TelemetryEvent(step: $0.step, epoch: $0.epoch, wallTime: $0.wallTime, payload: .epoch($0.value)) }
            content = (epochs + steps).sorted { $0.step < $1.step }.map { $0.jsonLine() }.joined(separator: "\n") + "\n"
        default:
            view.status = "error: export what? genotype, dot or metrics"
            return
        }
        do {
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            view.status = "exported \(what) to \(path)"
        } catch {
            view.status = "error: cannot write \(path): \(error.localizedDescription)"
        }
    }
}

/// Set by SIGINT/SIGTERM; the UI loop notices it, snapshots and restores the terminal.
public enum SignalFlag {
    nonisolated(unsafe) public static var received = false

    public static func install() {
        signal(SIGINT) { _ in SignalFlag.received = true }
        signal(SIGTERM) { _ in SignalFlag.received = true }
    }
}
