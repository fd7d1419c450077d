import ArgumentParser
import Dashboard
import DartsRemote
import DartsTelemetry
import Foundation

/// `dartscope attach ADDRESS`: the dashboard on a PyTorch search's probe.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Watch and steer a PyTorch search through its probe (docs/attach.md); q detaches, :stop ends the search.")

    @Argument(help: "Where the probe listens: HOST:PORT (default 127.0.0.1:7797) or unix:PATH.")
    var address = "127.0.0.1:7797"

    @Option(help: "The token a probe listening beyond loopback printed at start.")
    var token: String?

    @Option(help: "Dashboard colour theme (a name from Themes/ or a file).")
    var theme = "dark"

    func run() throws {
        let connection: ProbeConnection
        do { connection = try ProbeConnection(address: try RemoteAddress(parsing: address), token: token) } catch {
            throw ValidationError("\(error)")
        }
        defer { connection.stopAndWait() }
        try watch(connection, theme: theme) { connection.start() }
    }
}

/// `dartscope view PATH`: the dashboard, read-only, on a run's metrics file.
struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Open the dashboard read-only on a run folder or metrics file; a growing file is followed.")

    @Argument(help: "A run folder (runs/NAME) or a metrics.jsonl file.")
    var path: String

    @Option(help: "Dashboard colour theme (a name from Themes/ or a file).")
    var theme = "dark"

    func run() throws {
        let follower: MetricsFileFollower
        do { follower = try MetricsFileFollower(path: path) } catch { throw ValidationError("\(error)") }
        try watch(follower, theme: theme) { follower.start() }
    }
}

/// Runs the dashboard on a search in another process. Unlike a local search
/// there is no headless fallback: without a terminal there is nothing to do.
private func watch(_ connection: SearchConnection, theme themeName: String, start: () -> Void) throws {
    let theme = try dashboardTheme(themeName)
    let terminal: Terminal
    do { terminal = try Terminal(theme: theme) } catch {
        throw ValidationError("the dashboard needs a terminal: \(error.reason)")
    }
    SignalFlag.install()
    start()
    DashboardApp(connection: connection, terminal: terminal).run()
}
