import ArgumentParser
import DartsEngine

struct DartScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dartscope",
        abstract: "Watch differentiable architecture search collapse, live.")
    func run() throws {}
}
DartScope.main()
