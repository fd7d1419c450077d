import DartsTelemetry
import Foundation

/// The interactive dashboard: ~10 redraws per second from the metrics store,
/// keys and `:` commands turned into ``ControlCommand``s. It knows the search
/// only through a ``SearchConnection``: its metrics store and command queue.
public final class DashboardApp {
    let connection: SearchConnection
    let terminal: Terminal
    var input = InputHandler(themeNames: Theme.available())
    var view: ViewState {
        get { input.view }
        set { input.view = newValue }
    }
    let layout: DashboardView
    public private(set) var quitting = false
    /// Seconds each frame took to lay out and draw (the redraw cost the
    /// engine competes with), reported when the dashboard closes.
    public private(set) var frameTimes = TimingSummary.Recorder()
    /// CPU and wall-clock seconds of `run()` on the UI thread: everything the
    /// dashboard itself (not the terminal) took from the engine's cores.
    public private(set) var uiTime: (cpu: Double, wall: Double) = (0, 0)
    var seenMessages = 0

    /// Takes over a started terminal (see ``Terminal/init(theme:)`` for why
    /// one may not start) and gives it back when ``run()`` returns.
    public init(connection: SearchConnection, terminal: Terminal) {
        self.connection = connection
        self.terminal = terminal
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
            for key in keys where !quitting {
                for effect in input.handle(key, snapshot) where !quitting { perform(effect, snapshot) }
            }
            viewChanged = !keys.isEmpty
            if SignalFlag.received { quit(snapshotFirst: snapshot.source == nil) }  // a remote search is left as it is
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

    /// Carries out what the input handler asked for.
    func perform(_ effect: InputEffect, _ s: MetricsSnapshot) {
        switch effect {
        case .send(let command): connection.send(command)
        case .quit(let snapshotFirst): quit(snapshotFirst: snapshotFirst)
        case .applyTheme(let name): applyTheme(name)
        case .cycleTheme: cycleTheme()
        case .export(let what, let path): export(what, to: path, s)
        }
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
