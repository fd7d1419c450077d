import ArgumentParser

@main
struct DartScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dartscope",
        abstract: "Watch differentiable architecture search collapse, live.",
        subcommands: [Run.self, Bench.self],
        defaultSubcommand: Run.self)
}
