import Foundation
import TOMLKit

/// A grid of search variants × seeds, read from an experiment file and
/// validated like a config before anything runs (docs/remedies.md,
/// "Experiments"):
///
/// ```toml
/// [experiment]
/// name = "remedies"            # runs go to OUTPUT/runs/VARIANT-sSEED.*
/// config = "hero"              # the base config (a name from Configs/ or a file)
/// seeds = [1, 2, 3]
/// threads = 1                  # search.threads of every run
/// set = { "snapshot.keep" = 0 } # overrides for every variant
///
/// [[variant]]
/// name = "plain"
///
/// [[variant]]
/// name = "lambda-frozen"
/// set = { "lambda.enabled" = true, "lambda.fd" = "frozen" }
///
/// [[variant]]
/// name = "l2-at-epoch-8"       # the same seeds of `plain`, forked at step 200
/// fork = { from = "plain", step = 200 }
/// set = { "optim.weight_decay" = 0.0081 }   # live parameters only
/// ```
public struct ExperimentPlan: Sendable {
    public struct Variant: Sendable, Equatable {
        public var name: String
        /// Overrides in file order, as `key=value` for `--set`.
        public var overrides: [String]
        public var fork: Fork?
    }

    /// A variant that continues another variant's run from its snapshot at `step`.
    public struct Fork: Sendable, Equatable {
        public var from: String
        public var step: Int
    }

    public struct Run: Sendable, Equatable {
        public var variant: Variant
        public var seed: Int

        public init(variant: Variant, seed: Int) {
            self.variant = variant
            self.seed = seed
        }

        /// `VARIANT-sSEED`: the run's file names in the output folder.
        public var label: String { "\(variant.name)-s\(seed)" }
    }

    public var name: String
    /// The base config's path.
    public var configPath: String
    public var seeds: [Int]
    public var threads: Int
    /// Runs at a time, when the file fixes it.
    public var jobs: Int?
    /// Overrides of every variant, before its own.
    public var commonOverrides: [String]
    public var variants: [Variant]

    static let experimentKeys: Set<String> = ["name", "config", "seeds", "threads", "jobs", "set"]
    static let variantKeys: Set<String> = ["name", "set", "fork"]

    public var runs: [Run] { variants.flatMap { variant in seeds.map { Run(variant: variant, seed: $0) } } }

    /// Reads and validates `path`: unknown keys, bad values (with the allowed
    /// range), structural parameters changed on a fork, and every variant's
    /// resolved config are checked here, so a grid never fails half-way on a typo.
    public static func load(path: String) throws(ConfigError) -> ExperimentPlan {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        do { return try parse(toml: text, source: path) } catch let error {
            if case .syntax = error { throw error }
            throw .inFile(path: path, problem: error.description)
        }
    }

    public static func parse(toml text: String, source: String) throws(ConfigError) -> ExperimentPlan {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let error as TOMLParseError {
            throw .syntax(file: source, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw .syntax(file: source, line: 0, column: 0, message: "\(error)")
        }
        for key in root.keys where key != "experiment" && key != "variant" {
            throw .invalidValue(key: key, value: "(unknown table)", allowed: "an [experiment] table and [[variant]] tables")
        }
        guard let experiment = root["experiment"]?.table else {
            throw .invalidValue(key: "experiment", value: "(missing)", allowed: "an [experiment] table with name, config and seeds")
        }
        for key in experiment.keys where !experimentKeys.contains(key) {
            throw .invalidValue(key: "experiment.\(key)", value: "(unknown key)", allowed: "one of " + experimentKeys.sorted().joined(separator: ", "))
        }
        guard let name = experiment["name"]?.string, isFileName(name) else {
            throw .invalidValue(key: "experiment.name", value: experiment["name"]?.debugDescription ?? "(missing)",
                                allowed: "a name of letters, digits, '.', '-' and '_'")
        }
        guard let configName = experiment["config"]?.string else {
            throw .invalidValue(key: "experiment.config", value: "(missing)", allowed: "a config name from Configs/ or a TOML file")
        }
        let configPath: String
        do {
            let besideFile = (URL(fileURLWithPath: source).deletingLastPathComponent().path as NSString).appendingPathComponent(configName)
            configPath = FileManager.default.fileExists(atPath: besideFile) && configName.hasSuffix(".toml")
                ? besideFile : try SearchConfig.locate(configName)
        } catch let error as ConfigError { throw error } catch { throw .unreadable(path: configName, reason: "\(error)") }
        guard let seedArray = experiment["seeds"]?.array, !seedArray.isEmpty, seedArray.count <= 100,
              let seeds = Optional(seedArray.compactMap(\.int)), seeds.count == seedArray.count, seeds.allSatisfy({ $0 >= 0 }),
              Set(seeds).count == seeds.count else {
            throw .invalidValue(key: "experiment.seeds", value: experiment["seeds"]?.debugDescription ?? "(missing)",
                                allowed: "a list of 1…100 distinct integers ≥ 0")
        }
        let threads = try integer(experiment["threads"], key: "experiment.threads", range: 1...256) ?? 1
        let jobs = try integer(experiment["jobs"], key: "experiment.jobs", range: 1...64)
        let common = try overrides(experiment["set"], key: "experiment.set")

        guard let variantArray = root["variant"]?.array, !variantArray.isEmpty else {
            throw .invalidValue(key: "variant", value: "(missing)", allowed: "at least one [[variant]] with a name")
        }
        var variants: [Variant] = []
        for (index, element) in variantArray.enumerated() {
            guard let table = element.table else {
                throw .invalidValue(key: "variant", value: element.debugDescription, allowed: "[[variant]] tables")
            }
            for key in table.keys where !variantKeys.contains(key) {
                throw .invalidValue(key: "variant.\(key)", value: "(unknown key)", allowed: "one of " + variantKeys.sorted().joined(separator: ", "))
            }
            guard let variantName = table["name"]?.string, isFileName(variantName) else {
                throw .invalidValue(key: "variant #\(index + 1) name", value: table["name"]?.debugDescription ?? "(missing)",
                                    allowed: "a name of letters, digits, '.', '-' and '_'")
            }
            guard !variants.contains(where: { $0.name == variantName }) else {
                throw .invalidValue(key: "variant \(variantName)", value: "a second variant of this name", allowed: "distinct variant names")
            }
            let own = try overrides(table["set"], key: "variant \(variantName) set")
            var fork: Fork?
            if let forkValue = table["fork"] {
                guard let forkTable = forkValue.table, let from = forkTable["from"]?.string,
                      let step = try integer(forkTable["step"], key: "variant \(variantName) fork.step", range: 1...Int.max),
                      Set(forkTable.keys) == ["from", "step"] else {
                    throw .invalidValue(key: "variant \(variantName) fork", value: forkValue.debugDescription,
                                        allowed: "{ from = \"VARIANT\", step = N }")
                }
                guard let parent = variants.first(where: { $0.name == from }) else {
                    throw .invalidValue(key: "variant \(variantName) fork.from", value: from,
                                        allowed: "an earlier variant: " + variants.map(\.name).joined(separator: ", "))
                }
                guard parent.fork == nil else {
                    throw .invalidValue(key: "variant \(variantName) fork.from", value: from, allowed: "a variant that is not itself a fork")
                }
                for override in own {
                    let key = String(override.split(separator: "=", maxSplits: 1)[0])
                    guard try SearchParameters.spec(key).isLive else {
                        throw .invalidValue(key: "variant \(variantName) set", value: key,
                                            allowed: "live parameters only: a fork continues \(from)'s snapshot, whose \(key) is fixed")
                    }
                }
                fork = Fork(from: from, step: step)
            }
            variants.append(Variant(name: variantName, overrides: own, fork: fork))
        }
        let plan = ExperimentPlan(name: name, configPath: configPath, seeds: seeds, threads: threads, jobs: jobs,
                                  commonOverrides: common, variants: variants)
        for variant in variants { _ = try plan.config(of: Run(variant: variant, seed: seeds[0])) }
        return plan
    }

    /// The resolved config of a run: base, common overrides, the variant's (a
    /// fork's parent's first), seed and threads — validated.
    public func config(of run: Run) throws(ConfigError) -> SearchConfig {
        var config: SearchConfig
        do { config = try SearchConfig.load(path: configPath) } catch let error as ConfigError { throw error } catch {
            throw .unreadable(path: configPath, reason: "\(error)")
        }
        do {
            try config.apply(overrides: overrides(of: run))
            try config.validateCombination()
        } catch {
            throw .inFile(path: "variant \(run.variant.name)", problem: error.description)
        }
        return config
    }

    /// Every `--set` of a fresh run (a fork's parent's for a fork: its own are applied at the fork).
    public func overrides(of run: Run) -> [String] {
        let variant = run.variant.fork.flatMap { fork in variants.first { $0.name == fork.from } } ?? run.variant
        return commonOverrides + variant.overrides + (run.variant.fork == nil ? [] : run.variant.overrides)
            + ["search.seed=\(run.seed)", "search.threads=\(threads)"]
    }

    private static func isFileName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            && !text.hasPrefix(".")
    }

    private static func integer(_ value: TOMLValueConvertible?, key: String, range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let value else { return nil }
        guard let number = value.int, range.contains(number) else {
            throw .invalidValue(key: key, value: value.debugDescription, allowed: "an integer in \(range.lowerBound)…\(range.upperBound == Int.max ? "" : String(range.upperBound))")
        }
        return number
    }

    /// A `set = { key = value, ... }` table as `key=value` overrides, each key known to the config table.
    private static func overrides(_ value: TOMLValueConvertible?, key: String) throws(ConfigError) -> [String] {
        guard let value else { return [] }
        guard let table = value.table else {
            throw .invalidValue(key: key, value: value.debugDescription, allowed: "a table of parameters: { \"optim.arch_lr\" = 3e-3 }")
        }
        var result: [String] = []
        for (name, value) in SearchConfig.flatten(table, prefix: "") {
            _ = try SearchParameters.spec(name)
            result.append("\(name)=\(value)")
        }
        return result
    }
}
