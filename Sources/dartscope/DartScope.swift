import ArgumentParser
import DartsEngine

@main
struct DartScope: ParsableCommand {
    static func main() {
        AllocatorTuning.keepFreedBlocks()
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do {
            try command.run()
        } catch let error as ValidationError {
            // The arguments parsed; what they name (a config, a snapshot, a
            // dataset, a value) is wrong, and the message says how. The
            // parser would follow it with the root command's usage line,
            // which answers nothing here.
            log("Error: \(error.message)")
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "dartscope",
        abstract: "Watch differentiable architecture search collapse, live.",
        subcommands: [Run.self, Resume.self, GenotypeCommand.self, Export.self, ConfigCommand.self, Tabulate.self, HessianCommand.self,
                      ExperimentCommand.self, ReportCommand.self, AttachCommand.self, ViewCommand.self, Bench.self],
        defaultSubcommand: Run.self)
}
