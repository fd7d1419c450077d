import DartsEngine
import Foundation
import Testing

@Suite("experiments", .serialized)
struct ExperimentTests {
    static let base = """
        [data]
        dataset = "synthetic"
        subset = 64
        synthetic_size = 8
        [network]
        space = "tiny-s3"
        init_channels = 2
        layers = 4
        [search]
        batch_size = 8
        epochs = 3
        [metrics]
        alpha_every = 2
        alignment_every = 1
        [snapshot]
        keep = 0
        """

    static func write(_ experiment: String, in directory: String) throws -> String {
        try base.write(toFile: directory + "/base.toml", atomically: true, encoding: .utf8)
        let path = directory + "/grid.toml"
        try experiment.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let grid = """
        [experiment]
        name = "grid"
        config = "base.toml"
        seeds = [1, 2]
        set = { "optim.arch_lr" = 0.003 }

        [[variant]]
        name = "plain"

        [[variant]]
        name = "wd"
        set = { optim.weight_decay = 0.01 }

        [[variant]]
        name = "lambda-at-5"
        fork = { from = "plain", step = 5 }
        set = { "lambda.enabled" = true, "lambda.fd" = "frozen" }
        """

    @Test func aPlanResolvesEveryRunsConfig() throws {
        let directory = EngineFixture.temporaryDirectory()
        let plan = try ExperimentPlan.load(path: try Self.write(Self.grid, in: directory))
        #expect(plan.runs.map(\.label) == ["plain-s1", "plain-s2", "wd-s1", "wd-s2", "lambda-at-5-s1", "lambda-at-5-s2"])
        let wd = try plan.config(of: plan.runs[3])
        #expect(wd.weightDecay == 0.01 && wd.archLearningRate == 0.003 && wd.seed == 2 && wd.threads == 1)
        let fork = try plan.config(of: plan.runs[4])
        #expect(fork.lambdaEnabled && fork.seed == 1)
        #expect(plan.variants[2].fork?.from == "plain" && plan.variants[2].fork?.step == 5)
    }

    @Test func badExperimentFilesAreRefusedWithTheReason() throws {
        let directory = EngineFixture.temporaryDirectory()
        func message(_ text: String) -> String {
            do { _ = try ExperimentPlan.load(path: try Self.write(text, in: directory)); return "accepted" } catch { return "\(error)" }
        }
        let header = "[experiment]\nname = \"g\"\nconfig = \"base.toml\"\nseeds = [1]\n"
        #expect(message(header + "[[variant]]\nname = \"a\"\nset = { \"optim.arch_lrr\" = 0.1 }\n").contains("unknown parameter 'optim.arch_lrr' (did you mean 'optim.arch_lr'?)"))
        #expect(message(header + "[[variant]]\nname = \"a\"\nset = { \"optim.arch_lr\" = 7 }\n").contains("invalid value '7' for optim.arch_lr: expected a number in 0…1.0"))
        #expect(message(header + "[[variant]]\nname = \"a\"\n[[variant]]\nname = \"b\"\nfork = { from = \"a\", step = 3 }\nset = { \"network.layers\" = 5 }\n")
            .contains("live parameters only: a fork continues a's snapshot, whose network.layers is fixed"))
        #expect(message(header + "[[variant]]\nname = \"b\"\nfork = { from = \"a\", step = 3 }\n").contains("fork.from"))
        #expect(message(header + "seed = 3\n[[variant]]\nname = \"a\"\n").contains("experiment.seed"))
        #expect(message(header).contains("at least one [[variant]]"))
        #expect(message(header + "[[variant]]\nname = \"../a\"\n").contains("name"))
        #expect(message(header.replacingOccurrences(of: "[1]", with: "[1, 1]") + "[[variant]]\nname = \"a\"\n").contains("distinct"))
        #expect(message("[experiment\n").contains("grid.toml:1"))
    }

    /// The whole grid through real processes: two at a time, a fork that
    /// starts from its parent's snapshot with the parent's history, and a
    /// second invocation that runs nothing again.
    @Test func anExperimentRunsForksAndResumes() throws {
        #expect(FileManager.default.isExecutableFile(atPath: DartscopeProcess.executable), "build the dartscope executable first")
        let directory = EngineFixture.temporaryDirectory()
        let path = try Self.write(Self.grid, in: directory)
        let result = try DartscopeProcess.run(["experiment", path, "--jobs", "2"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("6/6"))
        let table = try String(contentsOfFile: directory + "/results.md", encoding: .utf8)
        for variant in ["plain", "wd", "lambda-at-5"] { #expect(table.contains("| \(variant) | 2 |"), "\(table)") }
        for figure in ["lambda_max", "parameter_free", "valid_accuracy", "discrete_accuracy"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/\(figure).svg"))
        }
        func events(_ label: String) throws -> [MetricEvent] {
            try String(contentsOfFile: directory + "/runs/\(label).jsonl", encoding: .utf8).split(separator: "\n")
                .map { try JSONDecoder().decode(MetricEvent.self, from: Data($0.utf8)) }
        }
        let parent = try events("plain-s1"), fork = try events("lambda-at-5-s1")
        let parentSteps = parent.filter { $0.type == "step" }, forkSteps = fork.filter { $0.type == "step" }
        #expect(parentSteps.map(\.step) == Array(1...12) && forkSteps.map(\.step) == Array(1...12))
        #expect(Array(forkSteps.prefix(5)) == Array(parentSteps.prefix(5)))
        #expect(forkSteps[5] != parentSteps[5])
        #expect(fork.contains { $0.type == "lambda" } && !parent.contains { $0.type == "lambda" })
        #expect(parent.filter { $0.type == "epoch" }.map(\.epoch) == [0, 1, 2])

        #expect(FileManager.default.fileExists(atPath: directory + "/runs/lambda-at-5-s2.record.json"))
        // The committed records alone make the same table.
        for label in ["plain-s1", "plain-s2", "wd-s1", "wd-s2", "lambda-at-5-s1", "lambda-at-5-s2"] {
            try FileManager.default.copyItem(atPath: directory + "/runs/\(label).jsonl", toPath: directory + "/\(label).kept")
            try FileManager.default.removeItem(atPath: directory + "/runs/\(label).jsonl")
        }
        let reported = try DartscopeProcess.run(["experiment", path, "--report-only"], in: directory)
        let rewritten = try String(contentsOfFile: directory + "/results.md", encoding: .utf8)
        #expect(reported.status == 0 && rewritten == table)
        for label in ["plain-s1", "plain-s2", "wd-s1", "wd-s2", "lambda-at-5-s1", "lambda-at-5-s2"] {
            try FileManager.default.moveItem(atPath: directory + "/\(label).kept", toPath: directory + "/runs/\(label).jsonl")
        }

        let again = try DartscopeProcess.run(["experiment", path], in: directory)
        #expect(again.status == 0 && again.stderr.contains("6 finished before"), "\(again.stderr)")
        #expect(try events("plain-s1") == parent)
    }

    /// `--variant` runs the chosen variants and what they fork from, and
    /// nothing else; a name the file does not have is refused before anything runs.
    @Test func chosenVariantsRunWithTheirParentsOnly() throws {
        let directory = EngineFixture.temporaryDirectory()
        let path = try Self.write(Self.grid, in: directory)
        let refused = try DartscopeProcess.run(["experiment", path, "--variant", "lamda-at-5"], in: directory)
        #expect(refused.status == 64 && refused.stderr.contains("--variant lamda-at-5: ") && refused.stderr.contains("plain, wd, lambda-at-5"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/runs"))
        let result = try DartscopeProcess.run(["experiment", path, "--variant", "lambda-at-5", "--jobs", "2"], in: directory)
        #expect(result.status == 0 && result.stderr.contains("4/4") && result.stderr.contains("2 chosen variants of 3 variants"), "\(result.stderr)")
        for label in ["plain-s1", "plain-s2", "lambda-at-5-s1", "lambda-at-5-s2"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/runs/\(label).result.json"), "\(label)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/runs/wd-s1.jsonl"))
        let table = try String(contentsOfFile: directory + "/results.md", encoding: .utf8)
        #expect(table.contains("| wd | 0 (+2 not run yet) |"), "\(table)")
    }
}
