import ArgumentParser
import DartsEngine

@main
struct DartScope: ParsableCommand {
    static func main() {
        AllocatorTuning.keepFreedBlocks()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "dartscope",
        abstract: "Watch differentiable architecture search collapse, live.",
        subcommands: [Run.self, Resume.self, GenotypeCommand.self, Export.self, ConfigCommand.self, Tabulate.self, HessianCommand.self, Bench.self],
        defaultSubcommand: Run.self)
}
