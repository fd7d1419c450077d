import DartsTelemetry

/// What a key asks of the dashboard beyond its own view state: effects the
/// app carries out (sending to the search, quitting, the terminal, files).
public enum InputEffect: Equatable, Sendable {
    case send(ControlCommand)
    case quit(snapshotFirst: Bool)
    case applyTheme(String)
    case cycleTheme
    case export(what: String, path: String)
}

/// The dashboard's key handling, line editor, completion and command parsing
/// as a pure function of (state, key) → (state, effects): everything the
/// user types goes through `handle`, and nothing here touches the terminal,
/// the search or the file system, so it is tested without any of them.
public struct InputHandler: Sendable {
    public var view = ViewState()
    public var commandHistory: [String] = []
    var historyIndex: Int?
    /// Theme names `:theme` completes.
    public var themeNames: [String]

    public init(themeNames: [String] = []) {
        self.themeNames = themeNames
    }

    /// Short names for the most used parameters (`:set lambda 0.3`).
    public static let aliases = ["lambda": "lambda.value", "lr": "optim.lr", "wd": "optim.weight_decay", "factor": "es.factor"]

    /// Applies one key against the latest metrics; returns what the app must do.
    public mutating func handle(_ key: Key, _ s: MetricsSnapshot) -> [InputEffect] {
        switch view.mode {
        case .help:
            view.mode = .normal
            return []
        case .confirmQuit:
            view.mode = .normal
            switch key {
            // A diverged run writes no snapshot (the overlay says so): y quits as n
            // does; so does detaching from a probe or closing a viewer.
            case .character("y"), .character("Y"): return [.quit(snapshotFirst: s.state != .diverged && s.source == nil)]
            case .character("n"), .character("N"): return [.quit(snapshotFirst: false)]
            default: return []
            }
        case .confirmStop:
            view.mode = .normal
            if key == .character("y") || key == .character("Y") { return send(.stop, s) }
            return []
        case .command(let text):
            let handler = self  // completion reads a copy: it only looks
            guard let line = editLine(key, text: text, history: true, completion: { handler.complete($0, s) }, update: { .command($0) }) else {
                return []
            }
            return execute(line, s)
        case .editing(let parameter, let text):
            guard let value = editLine(key, text: text, history: false, update: { .editing(key: parameter, text: $0) }) else { return [] }
            return sendSet(key: parameter, value: value, s)
        case .normal:
            return normalKey(key, s)
        }
    }

    /// Line editing shared by `:` commands and in-place parameter edits;
    /// returns the line when `enter` submits it.
    mutating func editLine(_ key: Key, text: String, history: Bool, completion: ((String) -> String)? = nil,
                           update: (String) -> ViewState.Mode) -> String? {
        switch key {
        case .escape:
            view.mode = .normal
        case .enter:
            view.mode = .normal
            if history && !text.isEmpty {
                commandHistory.append(text)
                historyIndex = nil
            }
            return text
        case .backspace:
            view.mode = text.isEmpty ? .normal : update(String(text.dropLast()))
        case .tab:
            if let completion { view.mode = update(completion(text)) }
        case .up where history && !commandHistory.isEmpty:
            let index = max(0, (historyIndex ?? commandHistory.count) - 1)
            historyIndex = index
            view.mode = update(commandHistory[index])
        case .down where history && historyIndex != nil:
            let index = historyIndex! + 1
            historyIndex = index < commandHistory.count ? index : nil
            view.mode = update(index < commandHistory.count ? commandHistory[index] : "")
        case .character(let c):
            view.mode = update(text + String(c))
        default:
            break
        }
        return nil
    }

    /// Completes the command word, a `:set` parameter key, a `:theme` name
    /// or a `:rollback` snapshot name, to the candidates' common prefix.
    public func complete(_ text: String, _ s: MetricsSnapshot) -> String {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let candidates: [String]
        if words.count <= 1 {
            candidates = ["set", "snapshot", "rollback", "fork", "theme", "export", "help", "quit", "stop"].filter { $0.hasPrefix(words.first ?? "") }
        } else if words.count == 2 && words[0] == "set" {
            candidates = s.run.liveParameters.map(\.key).filter { $0.hasPrefix(words[1]) }.map { "set " + $0 }
        } else if words.count == 2 && words[0] == "theme" {
            candidates = themeNames.filter { $0.hasPrefix(words[1]) }.map { "theme " + $0 }
        } else if words.count == 2 && words[0] == "rollback" {
            candidates = s.snapshots.filter { $0.hasPrefix(words[1]) }.map { "rollback " + $0 }
        } else {
            return text
        }
        guard let first = candidates.first else { return text }
        let common = candidates.dropFirst().reduce(first) { prefix, next in String(zip(prefix, next).prefix { $0 == $1 }.map(\.0)) }
        return candidates.count == 1 ? common + " " : common
    }

    mutating func normalKey(_ key: Key, _ s: MetricsSnapshot) -> [InputEffect] {
        let live = s.run.liveParameters
        switch key {
        case .character(" "): return send(s.state == .paused || s.state == .stepping ? .resume : .pause, s)
        case .character("n"): return send(.step(count: 1), s)
        case .character("N"): return send(.stepEpoch, s)
        case .character("s"): return send(.snapshot(name: "manual-step\(s.step)"), s)
        case .character("l"): return send(.set(key: "lambda.enabled", value: .flag(!s.flag("lambda.enabled"))), s)
        case .character("+"): return send(.set(key: "lambda.value", value: .real(max(s.real("lambda.value") ?? 0, 1e-3) * 2)), s)
        case .character("-"): return send(.set(key: "lambda.value", value: .real((s.real("lambda.value") ?? 0) / 2)), s)
        case .character("v"): return cycle("lambda.variant", s)
        case .character("e"): return cycle("es.action", s)
        case .character("r"): view.showReduce.toggle()
        case .character("t"): return [.cycleTheme]
        case .character("?"): view.mode = .help
        case .character(":"): view.mode = .command("")
        case .character("q"): view.mode = .confirmQuit
        case .left: view.selectedLayer = max(0, view.selectedLayer - 1)
        case .right: view.selectedLayer = max(0, min(s.run.cells.count - 1, view.selectedLayer + 1))
        case .up, .backTab: view.selectedParameter = max(0, view.selectedParameter - 1)
        case .down, .tab: view.selectedParameter = max(0, min(live.count - 1, view.selectedParameter + 1))
        case .enter where !live.isEmpty:
            let parameter = live[min(view.selectedParameter, live.count - 1)]
            view.mode = .editing(key: parameter.key, text: s.value(parameter.key)?.description ?? "")
        default: break
        }
        return []
    }

    /// The next option of a choice parameter (`v`, `e`).
    mutating func cycle(_ key: String, _ s: MetricsSnapshot) -> [InputEffect] {
        let options = s.run.descriptor(key)?.options ?? []
        guard !options.isEmpty else { return [] }
        let next = options[((options.firstIndex(of: s.text(key) ?? "") ?? -1) + 1) % options.count]
        return send(.set(key: key, value: .text(next)), s)
    }

    mutating func send(_ command: ControlCommand, _ s: MetricsSnapshot) -> [InputEffect] {
        if let source = s.source, !source.acceptsCommands {
            view.status = "read-only: a metrics file takes no commands (resume a snapshot, or attach to a probe)"
            return []
        }
        view.status = "sent: \(command)"
        return [.send(command)]
    }

    /// Checks a typed value against the parameter's descriptor first, so a
    /// mistake is answered at once rather than at the search's next step
    /// boundary (which can be an epoch-end eigenvalue away). The search
    /// still validates what it applies, combinations included.
    mutating func sendSet(key: String, value text: String, _ s: MetricsSnapshot) -> [InputEffect] {
        // The parameters panel follows the key a `:set` names, so its row (new
        // value, or the old one beside the error) is in view however long the list.
        if let index = s.run.liveParameters.firstIndex(where: { $0.key == key }) { view.selectedParameter = index }
        let value = ConfigValue.parse(text)
        do {
            _ = try s.run.parameters.liveChange(key, to: value)
        } catch {
            view.status = "error: \(error)"
            return []
        }
        return send(.set(key: key, value: value), s)
    }

    /// `:` commands.
    mutating func execute(_ line: String, _ s: MetricsSnapshot) -> [InputEffect] {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return [] }
        switch (verb, words.count) {
        case ("set", 3): return sendSet(key: Self.aliases[words[1]] ?? words[1], value: words[2], s)
        case ("snapshot", 2): return send(.snapshot(name: words[1]), s)
        case ("rollback", 2): return send(.rollback(name: words[1]), s)
        case ("fork", 2): return send(.fork(name: words[1]), s)
        case ("theme", 2): return [.applyTheme(words[1])]
        case ("export", 3): return [.export(what: words[1], path: words[2])]
        case ("help", 1): view.mode = .help
        case ("quit", 1), ("q", 1): view.mode = .confirmQuit
        case ("stop", 1): view.mode = .confirmStop
        default: view.status = "error: unknown command ':\(line)' (try :help)"
        }
        return []
    }
}
