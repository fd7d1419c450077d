import Foundation

/// This dartscope executable, for running its commands as child processes
/// (experiments, a fork's parent continuation). Resolved once, at the first
/// use: a rebuild while children are launched must not swap binaries mid-run.
let dartscopeExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

/// Starts `dartscope ARGUMENTS` with standard input closed and both outputs
/// appended to `logPath`, after a line naming the command.
func launchDartscope(_ arguments: [String], log logPath: String) throws -> Process {
    if !FileManager.default.fileExists(atPath: logPath) {
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else { throw CommandFailure("cannot create \(logPath)") }
    }
    guard let logFile = FileHandle(forWritingAtPath: logPath) else { throw CommandFailure("cannot write \(logPath)") }
    logFile.seekToEndOfFile()
    logFile.write(Data("$ dartscope \(arguments.joined(separator: " "))\n".utf8))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: dartscopeExecutable)
    process.arguments = arguments
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = logFile
    process.standardError = logFile
    try process.run()
    return process
}

/// A dartscope command that could not do its work, said in one line.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
