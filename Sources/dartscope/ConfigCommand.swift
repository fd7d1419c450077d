import ArgumentParser
import DartsEngine

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a resolved configuration as TOML, every parameter with its documentation, range and whether it is live.")

    @Option(name: .long, help: "A config name from Configs/ or a TOML file.")
    var config = "default"

    @Option(name: .customLong("set"), help: "Override a parameter: --set key=value (repeatable).")
    var overrides: [String] = []

    @Flag(help: "Print the configuration reference (docs/configuration.md) instead.")
    var markdown = false

    func run() throws {
        if markdown {
            print(SearchParameters.referenceMarkdown(), terminator: "")
            return
        }
        print(try loadConfig(name: config, overrides: overrides, data: nil).toml(), terminator: "")
    }
}
