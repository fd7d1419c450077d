import Foundation
import Testing

/// posix_spawn + waitpid for child processes. Foundation's Process can miss
/// a child's exit once a daemon (the tmux server) has been started from the
/// same process, and then waits forever.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ arguments: [String], captureOutput: Bool, directory: String? = nil, mergeErrors: Bool = false) throws -> (status: Int32, output: String) {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw Failure(description: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if captureOutput {
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
            if mergeErrors { posix_spawn_file_actions_adddup2(&actions, pipe[1], 2) } else {
                posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            }
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // Close everything else in the child: the tmux server started by the
        // first command lives on, and must not hold the test runner's pipes.
        _ = addCloseFrom(&actions, 3)
        let command = directory.map { "cd '\($0)' && exec \"$@\"" } ?? "exec \"$@\""
        let argv = ["/bin/sh", "-c", command, "sh"] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        // Default dispositions and an empty signal mask: the test runner may
        // ignore or block signals (SIGWINCH among them), and ncurses only
        // installs its resize handler when SIGWINCH is at its default.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        var noSignals = sigset_t()
        sigfillset(&allSignals)
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, &cArguments, environ)
        close(pipe[1])
        guard spawned == 0 else { close(pipe[0]); throw Failure(description: "posix_spawn failed: \(spawned)") }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(pipe[0], &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        close(pipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Drives the real dashboard in a detached tmux session: keys in with
/// send-keys, the screen out with capture-pane.
final class TmuxSession {
    let name = "dartscope-test-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
    let directory: String

    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("dartscope").path
    }

    /// Where tmux is, or a failure that says how to get it.
    static func requireTmux() throws {
        let found = try Spawn.run(["/bin/sh", "-c", "command -v tmux"], captureOutput: true)
        guard found.status == 0 else {
            throw Spawn.Failure(description: "tmux is not installed, and the dashboard tests drive the dashboard through it: run `bash scripts/setup.sh` (it installs tmux)")
        }
    }

    /// `environment` (NAME=value words) overrides the clean terminal
    /// environment; `input` redirects standard input. After dartscope
    /// exits the pane shows its exit status and the terminal's modes.
    init(arguments: [String], environment: [String] = [], input: String? = nil, executable: String = TmuxSession.executable) throws {
        try Self.requireTmux()
        directory = NSTemporaryDirectory() + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A clean terminal environment for the dashboard, whatever the test runner has.
        let command = (["env", "-u", "LINES", "-u", "COLUMNS", "-u", "NO_COLOR", "TERM=tmux-256color", "LANG=C.UTF-8"] + environment).joined(separator: " ")
            + " " + ([executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
            + (input.map { " < '\($0)'" } ?? "")
            + "; echo DASHBOARD-EXITED status $?; echo modes $(stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|icrnl|onlcr)$'); sleep 120"
        // When the previous test's session was the last one, its tmux server
        // may still be exiting, and a new-session that reaches it fails: try
        // again until the session exists.
        for _ in 0..<10 {
            try tmux(["new-session", "-d", "-s", name, "-x", "160", "-y", "50", "-c", directory, command])
            if try Spawn.run(["tmux", "has-session", "-t", name], captureOutput: false).status == 0 { return }
            Thread.sleep(forTimeInterval: 0.3)
        }
        throw Spawn.Failure(description: "tmux could not start session \(name)")
    }

    deinit { _ = try? tmux(["kill-session", "-t", name]) }

    /// Runs a tmux command (only capture-pane needs its output).
    @discardableResult
    func tmux(_ arguments: [String], output: Bool = false) throws -> String {
        let result = try Spawn.run(["tmux"] + arguments, captureOutput: output)
        return result.output
    }

    /// The pseudo-terminal the pane runs on (for reading its modes with stty -F).
    func paneTTY() -> String {
        ((try? tmux(["display-message", "-p", "-t", name, "#{pane_tty}"], output: true)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func screen() -> String { (try? tmux(["capture-pane", "-t", name, "-p"], output: true)) ?? "" }
    func send(_ keys: String...) { _ = try? tmux(["send-keys", "-t", name] + keys) }
    func sendLiteral(_ text: String) { _ = try? tmux(["send-keys", "-t", name, "-l", text]) }
    func resize(_ width: Int, _ height: Int) { _ = try? tmux(["resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"]) }

    /// Runs dartscope for at most `seconds` (exit status 124 when cut off),
    /// output (stdout and stderr) captured.
    static func runToCompletion(_ arguments: [String], in directory: String, seconds: Int = 15) throws -> (status: Int32, output: String) {
        let log = directory + "/command.log"
        let quoted = (["timeout", String(seconds), executable] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let result = try Spawn.run(["/bin/sh", "-c", "\(quoted) > '\(log)' 2>&1"], captureOutput: false, directory: directory)
        return (result.status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Polls the screen until `condition` holds; returns the last screen.
    @discardableResult
    func waitFor(timeout: TimeInterval = 30, _ condition: (String) -> Bool) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = screen()
        while Date() < deadline {
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
            last = screen()
        }
        return last
    }

    /// The step counter of the header line.
    static func step(_ screen: String) -> Int? {
        guard let header = screen.split(separator: "\n").first,
              let range = header.range(of: #"step (\d+)/"#, options: .regularExpression) else { return nil }
        return Int(header[range].dropFirst(5).dropLast())
    }
}

/// The real dashboard, driven key by key in tmux: one behaviour per test,
/// each on its own small synthetic search.
@Suite("dashboard in tmux", .serialized)
struct TmuxDashboardTests {
    static let search = [
        "run", "--config", "default", "--set", "data.dataset=synthetic", "--set", "data.subset=512",
        "--set", "network.init_channels=4", "--set", "search.batch_size=16", "--set", "search.epochs=500",
        "--set", "run.name=tmux",
    ]

    /// A session whose search has drawn its first epoch (16 steps) and is then paused; returns the step it paused at.
    func pausedSession() throws -> (TmuxSession, Int) {
        let session = try TmuxSession(arguments: Self.search)
        let running = session.waitFor { (TmuxSession.step($0) ?? 0) >= 16 && $0.contains("RUNNING") }
        try #require(running.contains("RUNNING"), "the dashboard never showed a running search: \(running)")
        session.send("Space")
        let screen = session.waitFor { $0.contains("PAUSED") }
        return (session, try #require(TmuxSession.step(screen), "no step counter after pausing: \(screen)"))
    }

    @Test func theFirstEpochIsDrawn() throws {
        let session = try TmuxSession(arguments: Self.search)
        let screen = session.waitFor { (TmuxSession.step($0) ?? 0) >= 16 && $0.contains("RUNNING") && $0.contains("λmax =") }
        #expect(screen.contains("softmax(α) normal"), "\(screen)")
        #expect(screen.contains("dominant eigenvalue λmax ="), "the first epoch-end eigenvalue: \(screen)")
        #expect(screen.contains("layer-gradient cosine (normal)"))
        #expect(screen.contains("live parameters"))
    }

    /// A binary copied away from the repository finds no Themes/ folder: the
    /// dashboard starts with the built-in theme instead of refusing to start.
    @Test func aBinaryWithoutTheShippedThemesStartsWithTheBuiltInTheme() throws {
        let folder = NSTemporaryDirectory() + "dartscope-alone-\(getpid())"
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = folder + "/dartscope"
        try FileManager.default.copyItem(atPath: TmuxSession.executable, toPath: copy)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var arguments = Self.search
        arguments[2] = repository.appendingPathComponent("Configs/default.toml").path
        let session = try TmuxSession(arguments: arguments + ["--set", "tabular.table=none"], executable: copy)
        let screen = session.waitFor { $0.contains("RUNNING") || $0.contains("DASHBOARD-EXITED") }
        #expect(screen.contains("RUNNING") && screen.contains("softmax(α) normal"), "\(screen)")
    }

    /// `dartscope view` on a finished run's folder: the header says what is
    /// shown and that the run finished, the panels fill from the file, every
    /// command is refused as read-only, and q closes the viewer.
    @Test func viewShowsAFinishedRunReadOnly() throws {
        let directory = NSTemporaryDirectory() + "dartscope-view-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let finished = try TmuxSession.runToCompletion(
            Self.search.map { $0 == "search.epochs=500" ? "search.epochs=2" : $0 } + ["--headless"], in: directory, seconds: 60)
        try #require(finished.status == 0, "the headless run failed: \(finished.output)")
        let session = try TmuxSession(arguments: ["view", directory + "/runs/tmux"])
        var screen = session.waitFor { $0.contains("FINISHED") && $0.contains("λmax =") }
        #expect(screen.contains("dartscope [view \(directory)/runs/tmux/metrics.jsonl]"), "\(screen)")
        #expect(screen.contains("step 32/32") && screen.contains("softmax(α) normal"), "\(screen)")
        session.send("Space")
        screen = session.waitFor { $0.contains("read-only") }
        #expect(screen.contains("read-only: a metrics file takes no commands"), "\(screen)")
        session.send("q")
        screen = session.waitFor { $0.contains("Close the viewer?") }
        session.send("y")
        screen = session.waitFor { $0.contains("DASHBOARD-EXITED") }
        #expect(screen.contains("DASHBOARD-EXITED status 0"), "\(screen)")
    }

    @Test func spacePausesAndNStepsOnce() throws {
        let (session, paused) = try pausedSession()
        Thread.sleep(forTimeInterval: 1)
        #expect(TmuxSession.step(session.screen()) == paused, "a paused search must not step")
        session.send("n")
        session.waitFor { TmuxSession.step($0) == paused + 1 && $0.contains("PAUSED") }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(TmuxSession.step(session.screen()) == paused + 1, "n must run exactly one step")
    }

    @Test func setChangesTheParameterAndTheJournalAndRefusesBadValues() throws {
        let (session, paused) = try pausedSession()
        session.sendLiteral(":set lambda 0.5")
        session.send("Enter")
        let changedLambda: (String) -> Bool = { screen in
            screen.split(separator: "\n").contains { $0.contains("lambda.value") && $0.contains("0.5 ") && $0.contains("step \(paused)") }
        }
        var screen = session.waitFor(changedLambda)
        #expect(changedLambda(screen), "\(screen)")
        let journalPath = session.directory + "/runs/tmux/journal.jsonl"
        var journal = ""
        for _ in 0..<50 where !journal.contains("lambda.value") {
            journal = (try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? ""
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(journal.contains("lambda.value") && journal.contains("0.5"), "journal: \(journal)")

        session.sendLiteral(":set lambda abc")
        session.send("Enter")
        screen = session.waitFor { $0.contains("invalid value 'abc' for lambda.value") }
        #expect(screen.contains("invalid value 'abc' for lambda.value"), "\(screen)")
        #expect(screen.split(separator: "\n").contains { $0.contains("lambda.value") && $0.contains("0.5") })
        session.sendLiteral(":set network.layers 8")
        session.send("Enter")
        screen = session.waitFor { $0.contains("network.layers cannot change while a search runs") }
        #expect(screen.contains("network.layers cannot change while a search runs"), "\(screen)")
    }

    @Test func aSnapshotCompletesAfterRollbackAndResumes() throws {
        let (session, paused) = try pausedSession()
        session.send("s")
        let snapshot = session.directory + "/runs/tmux/snapshots/manual-step\(paused)"
        session.waitFor { _ in FileManager.default.fileExists(atPath: snapshot + "/manifest.json") }
        session.sendLiteral(":rollback manual-")
        session.send("Tab")
        let screen = session.waitFor { $0.contains(":rollback manual-step\(paused) ") }
        #expect(screen.contains(":rollback manual-step\(paused) "), "\(screen)")
        session.send("Escape")
        let resumed = try TmuxSession.runToCompletion(
            ["resume", snapshot, "--headless", "--name", "tmux-resumed", "--set", "optim.lr=0.01"], in: session.directory)
        #expect(resumed.status == 0 || resumed.status == 124, "\(resumed.output)")
        #expect(resumed.output.contains("resumed \(snapshot) at step \(paused)"), "\(resumed.output)")
    }

    @Test func aTooSmallTerminalAsksToEnlargeAndRecovers() throws {
        let (session, _) = try pausedSession()
        session.resize(60, 20)
        var screen = session.waitFor { $0.contains("enlarge to 100×30") }
        #expect(screen.contains("enlarge to 100×30"), "\(screen)")
        session.resize(160, 50)
        screen = session.waitFor { $0.contains("softmax(α) normal") }
        #expect(screen.contains("softmax(α) normal"), "\(screen)")
    }

    @Test func forkLeavesTheOriginalResumableAndGoesOnAsTheNewRun() throws {
        let (session, _) = try pausedSession()
        session.sendLiteral(":fork tmux-fork")
        session.send("Enter")
        let screen = session.waitFor { $0.contains("forked: now run tmux-fork") }
        #expect(screen.contains("forked: now run tmux-fork"), "\(screen)")
        #expect(screen.contains("tmux-fork ·"), "the header names the run it continues")
        #expect(FileManager.default.fileExists(atPath: session.directory + "/runs/tmux/snapshots/fork-tmux-fork/manifest.json"))
        #expect(FileManager.default.fileExists(atPath: session.directory + "/runs/tmux-fork/journal.jsonl"))
    }

    /// The run a fork leaves behind goes on as a headless child, drawn faintly, and stops with the dashboard.
    @Test func aForksParentContinuesAsItsCounterfactualUntilTheDashboardCloses() throws {
        let (session, _) = try pausedSession()
        let parentMetrics = session.directory + "/runs/tmux/metrics.jsonl"
        session.sendLiteral(":fork tmux-cf")
        session.send("Enter")
        let screen = session.waitFor { $0.contains("faint: tmux") }
        #expect(screen.contains("faint: tmux"), "\(screen)")
        let sizeAtFork = (try? FileManager.default.attributesOfItem(atPath: parentMetrics)[.size] as? Int) ?? 0
        let deadline = Date().addingTimeInterval(60)
        var grew = false
        while Date() < deadline && !grew {
            Thread.sleep(forTimeInterval: 0.5)
            grew = ((try? FileManager.default.attributesOfItem(atPath: parentMetrics)[.size] as? Int) ?? 0) > sizeAtFork + 200
        }
        let log = (try? String(contentsOfFile: session.directory + "/runs/tmux/continuation.log", encoding: .utf8)) ?? ""
        #expect(grew, "the parent's continuation appends to its metrics file; its log: \(log)")
        #expect(log.contains("resume") && log.contains("search.threads=1"))
        session.send("q")
        _ = session.waitFor { $0.contains("take a snapshot first?") }
        session.send("n")
        _ = session.waitFor { $0.contains("DASHBOARD-EXITED") }
        // The child is gone within a few seconds of the dashboard.
        var running = true
        for _ in 0..<20 where running {
            Thread.sleep(forTimeInterval: 0.5)
            let listing = (try? Spawn.run(["/bin/sh", "-c", "ps -eo args"], captureOutput: true).output) ?? ""
            running = listing.contains("fork-tmux-cf")
        }
        #expect(!running, "the counterfactual outlived the dashboard")
    }

    @Test func quitAsksFirstAndRestoresTheTerminal() throws {
        let (session, _) = try pausedSession()
        session.send("q")
        var screen = session.waitFor { $0.contains("take a snapshot first?") }
        #expect(screen.contains("take a snapshot first?"), "\(screen)")
        session.send("n")
        screen = session.waitFor { $0.contains("DASHBOARD-EXITED") }
        #expect(screen.contains("DASHBOARD-EXITED"), "\(screen)")
        #expect(!screen.contains("softmax(α) normal"), "the dashboard's screen must be gone after quitting")
        #expect(screen.contains("Genotype(normal="))
    }

    // MARK: terminals the dashboard cannot or must not trust

    @Test func flowControlIsOffSoControlSDoesNotFreezeTheScreen() throws {
        let session = try TmuxSession(arguments: Self.search)
        let running = session.waitFor { (TmuxSession.step($0) ?? 0) >= 16 && $0.contains("RUNNING") }
        try #require(running.contains("RUNNING"), "\(running)")
        let modes = try Spawn.run(["stty", "-F", session.paneTTY(), "-a"], captureOutput: true).output
        #expect(modes.contains("-ixon"), "XON/XOFF is still on: \(modes)")
        session.send("C-s")
        Thread.sleep(forTimeInterval: 1)  // long enough for a frozen output to show as a stalled counter
        let before = try #require(TmuxSession.step(session.screen()))
        let after = session.waitFor { (TmuxSession.step($0) ?? 0) > before }
        #expect((TmuxSession.step(after) ?? 0) > before, "the screen stopped updating after C-s: \(after)")
        session.send("C-q")
    }

    @Test func aDumbTerminalRunsHeadlessAndSaysWhy() throws {
        let session = try TmuxSession(arguments: Self.search + ["--set", "search.epochs=1"], environment: ["TERM=dumb"])
        let screen = session.waitFor { $0.contains("DASHBOARD-EXITED") }
        #expect(screen.contains("no dashboard: TERM=dumb cannot place the cursor"), "\(screen)")
        #expect(screen.contains("DASHBOARD-EXITED status 0"), "\(screen)")
    }

    @Test func standardInputThatIsNotATerminalRunsHeadlessAndSaysWhy() throws {
        let session = try TmuxSession(arguments: Self.search + ["--set", "search.epochs=1"], input: "/dev/null")
        let screen = session.waitFor { $0.contains("DASHBOARD-EXITED") }
        #expect(screen.contains("no dashboard: standard input is not a terminal"), "\(screen)")
        #expect(screen.contains("DASHBOARD-EXITED status 0"), "\(screen)")
    }

    @Test func anASCIILocaleDrawsASCIIStandInsForEveryOtherCharacter() throws {
        let session = try TmuxSession(arguments: Self.search, environment: ["LANG=C", "LC_ALL=C"])
        let screen = session.waitFor { (TmuxSession.step($0) ?? 0) >= 16 && $0.contains("lmax =") }
        #expect(screen.contains("lmax ="), "\(screen)")
        #expect(screen.contains("softmax(a) normal"), "\(screen)")
        #expect(!screen.unicodeScalars.contains { !$0.isASCII }, "a non-ASCII character reached an ASCII terminal: \(screen)")
    }

    /// A fatal signal while the dashboard holds the terminal gives the shell
    /// back its modes and its screen before the process dies. The runtime's
    /// backtracer is off here: it treats a signal sent with kill as one it
    /// can return from, where a real fault would come back.
    @Test func aFatalSignalRestoresTheTerminalBeforeTheProcessDies() throws {
        let session = try TmuxSession(arguments: Self.search + ["--set", "run.name=tmux-segv"], environment: ["SWIFT_BACKTRACE=enable=no"])
        let running = session.waitFor { (TmuxSession.step($0) ?? 0) >= 16 && $0.contains("RUNNING") }
        try #require(running.contains("RUNNING"), "\(running)")
        _ = try Spawn.run(["/bin/sh", "-c", "pkill -SEGV -f '^\(TmuxSession.executable) .*run.name=tmux-segv'"], captureOutput: false)
        let screen = session.waitFor { $0.contains("modes ") }
        #expect(screen.contains("DASHBOARD-EXITED status 139"), "\(screen)")
        #expect(screen.contains("modes icrnl onlcr icanon echo"), "the terminal was left raw: \(screen)")
        #expect(!screen.contains("softmax(α) normal"), "the alternate screen was not left: \(screen)")
    }
}
