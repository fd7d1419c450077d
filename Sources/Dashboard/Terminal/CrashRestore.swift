import Foundation

/// Gives the shell its terminal back when the process dies of a fault while
/// the dashboard holds it (a trap in the engine thread, a failed
/// precondition, SIGSEGV): without this the user is left in the alternate
/// screen with echo and line editing off until they type `reset`.
///
/// The handler calls only async-signal-safe functions — tcsetattr with the
/// modes saved before curses started, and write for the escape sequences
/// that leave the alternate screen and show the cursor — then puts back the
/// handler that was there before (the Swift runtime's backtracer) and raises
/// the signal again for it, so the crash is reported as it would have been.
enum CrashRestore {
    private static let signals: [Int32] = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE]
    nonisolated(unsafe) private static var shellModes = termios()
    nonisolated(unsafe) private static var previous: [sigaction] = Array(repeating: sigaction(), count: signals.count)
    nonisolated(unsafe) private static var installed = false

    private static let restoreAndChain: @convention(c) (Int32) -> Void = { signal in
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &CrashRestore.shellModes)
        let sequence: StaticString = "\u{1b}[?1049l\u{1b}[?25h\r\n"
        _ = write(STDOUT_FILENO, sequence.utf8Start, sequence.utf8CodeUnitCount)
        guard let index = CrashRestore.signals.firstIndex(of: signal) else { return }
        sigaction(signal, &CrashRestore.previous[index], nil)
        // Pending until this returns, then delivered to that handler at the
        // faulting instruction; also covers a signal sent with kill, which
        // would not fault again.
        raise(signal)
    }

    /// Reads the shell's modes; call before curses changes them.
    static func saveShellModes() {
        _ = tcgetattr(STDIN_FILENO, &shellModes)
    }

    static func install() {
        guard !installed else { return }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = restoreAndChain
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for (index, signal) in signals.enumerated() { sigaction(signal, &action, &previous[index]) }
        installed = true
    }

    static func uninstall() {
        guard installed else { return }
        for (index, signal) in signals.enumerated() { sigaction(signal, &previous[index], nil) }
        installed = false
    }
}
