import ArgumentParser

@main
struct DartScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dartscope",
        abstract: "Watch differentiable architecture search collapse, live.",
        subcommands: [Run.self, Resume.self, GenotypeCommand.self, Export.self, Bench.self],
        defaultSubcommand: Run.self)
}
