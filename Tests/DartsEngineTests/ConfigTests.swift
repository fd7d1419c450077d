import DartsEngine
import Foundation
import Testing

@Suite("configuration")
struct ConfigTests {
    @Test(arguments: ["default", "s3-fmnist", "hero", "darts-cifar10", "s1", "s2", "s3", "s4"])
    func shippedConfigsLoad(_ name: String) throws {
        let path = try SearchConfig.locate(name)
        let config = try SearchConfig.load(path: path)
        #expect(SearchSpace.named(config.space) != nil)
    }

    /// The run name becomes `runs/NAME/`: anything but one plain folder is refused.
    @Test(arguments: ["../../x", "", "a/b", ".hidden", "line\nbreak", "tab\tname", String(repeating: "n", count: 101)])
    func runNamesThatAreNotOneFolderAreRefused(_ name: String) {
        var config = SearchConfig()
        #expect(throws: ConfigError.self) { try config.set("run.name", to: .text(name)) }
        #expect(throws: ConfigError.self) { try config.apply(overrides: ["run.name=\(name)"]) }
        #expect(config.runName == SearchConfig().runName)
    }

    @Test func aPlainRunNameIsAccepted() throws {
        var config = SearchConfig()
        try config.set("run.name", to: .text("lambda-on_2 (copy)"))
        #expect(config.runName == "lambda-on_2 (copy)")
    }

    @Test func unknownKeysAreRejectedWithASuggestion() {
        do {
            _ = try SearchConfig.parse(toml: "[optim]\nlr_mn = 0.1\n", source: "t.toml")
            Issue.record("accepted an unknown key")
        } catch {
            #expect("\(error)" == "t.toml: unknown parameter 'optim.lr_mn' (did you mean 'optim.lr_min'?)")
        }
    }

    @Test func wrongTypesAndRangesNameKeyValueAndRange() {
        func message(_ toml: String) -> String {
            do { _ = try SearchConfig.parse(toml: toml, source: "c.toml"); return "accepted" } catch { return "\(error)" }
        }
        #expect(message("[search]\nepochs = \"ten\"\n") == "c.toml: invalid value 'ten' for search.epochs: expected an integer in 1…10000")
        #expect(message("[search]\nepochs = 0\n") == "c.toml: invalid value '0' for search.epochs: expected an integer in 1…10000")
        #expect(message("[data]\ntrain_portion = 1.5\n") == "c.toml: invalid value '1.5' for data.train_portion: expected a number in 0.01…0.99")
        #expect(message("[network]\nspace = \"s9\"\n") == "c.toml: invalid value 's9' for network.space: expected one of darts, s1, s2, s3, s4, tiny, tiny-s3")
        #expect(message("[data]\naugment = 1\n") == "c.toml: invalid value '1' for data.augment: expected true or false")
        #expect(message("[optim]\nlr = 0.01\nlr_min = 0.1\n").contains("optim.lr_min"))
    }

    @Test func syntaxErrorsGiveTheLine() {
        do {
            _ = try SearchConfig.parse(toml: "[search]\nepochs = 3\nbatch_size = = 4\n", source: "bad.toml")
            Issue.record("accepted malformed TOML")
        } catch let error as ConfigError {
            guard case .syntax(let file, let line, _, _) = error else { Issue.record("\(error)"); return }
            #expect(file == "bad.toml" && line == 3)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func overridesUseTheSameValidation() throws {
        var config = SearchConfig()
        try config.apply(overrides: ["search.epochs=7", "optim.lr=0.05", "data.augment=true", "network.space=s2"])
        #expect(config.epochs == 7 && config.learningRate == 0.05 && config.randomCropAndFlip && config.space == "s2")
        #expect(throws: ConfigError.malformedOverride("epochs")) { try config.apply(overrides: ["epochs"]) }
        #expect(throws: ConfigError.invalidValue(key: "search.batch_size", value: "-1", allowed: "an integer in 2…4096")) {
            try config.apply(overrides: ["search.batch_size=-1"])
        }
        #expect(config.batchSize == 64)
    }

    @Test func tomlRenderingRoundTrips() throws {
        var config = SearchConfig()
        try config.apply(overrides: ["run.name=x", "optim.weight_decay=0.0081", "network.layers=5"])
        #expect(try SearchConfig.parse(toml: config.toml(), source: "rendered") == config)
    }
}
