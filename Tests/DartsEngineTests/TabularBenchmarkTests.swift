import Foundation
import Testing
@testable import DartsEngine

@Suite("tabular ground truth")
struct TabularBenchmarkTests {
    @Test func tinySpaceHasEightyOneArchitectures() throws {
        let architectures = try TabularBenchmark.architectures(of: .tiny)
        #expect(architectures.count == 81)
        #expect(Set(architectures.map { TabularBenchmark.name(of: $0, in: .tiny) }).count == 81)
        #expect(TabularBenchmark.name(of: [0, 1, 2, 0], in: .tiny) == "skip_connect,sep_conv_3x3,max_pool_3x3,skip_connect")
        #expect(throws: ConfigError.self) { try TabularBenchmark.architectures(of: .darts) }
        let pilot = try TabularBenchmark.architectures(of: .tiny, sample: 20)
        #expect(pilot.count == 20 && Set(pilot).count == 20 && Set(pilot).isSubset(of: Set(architectures)))
        #expect(try TabularBenchmark.architectures(of: .tiny, sample: 20) == pilot)
        #expect(try TabularBenchmark.architectures(of: .tiny, sample: 500) == architectures)
    }

    /// `tabulate --architecture NAME` reads back what the table writes, and
    /// nothing that is not one of the space's architectures.
    @Test func architectureNamesReadBackAsTheyAreWritten() throws {
        for architecture in try TabularBenchmark.architectures(of: .tinyS3) {
            #expect(TabularBenchmark.architecture(named: TabularBenchmark.name(of: architecture, in: .tinyS3), in: .tinyS3) == architecture)
        }
        for bad in ["", "none,none,none", "none,none,none,none,none", "none,none,none,max_pool_3x3", "none,,none,none", "none,none,none,none,"] {
            #expect(TabularBenchmark.architecture(named: bad, in: .tinyS3) == nil, "\(bad)")
        }
    }

    /// In tiny-s3 `none` is an architecture's operation like any other: the
    /// genotype (and so the discretisation gap's network) derives it where it
    /// is strongest, as the tabular argmax does; DARTS spaces still pass it over.
    @Test func tinyS3DerivesNoneWhereItIsStrongest() throws {
        #expect(try TabularBenchmark.architectures(of: .tinyS3).count == 81)
        let weights: [[Double]] = [[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4]]
        let genotype = Genotype(space: .tinyS3, mixing: [weights])
        // Kept edges in DARTS order: per node, strongest first.
        #expect(genotype.normal.map(\.operation) == [.sepConv3x3, .none, .skipConnect, .none])
        #expect(genotype.normalParameterFreeCount == 3 && genotype.normalSkipCount == 1)
        #expect(TabularBenchmark.argmax(of: weights, in: .tinyS3) == [0, 2, 1, 0])
        let s3 = Genotype.derive(weights: Array(repeating: [0.6, 0.3, 0.1], count: 14), operations: SearchSpace.s3.normalOperations,
                                 topology: .darts)
        #expect(s3.allSatisfy { $0.operation == .skipConnect })
    }

    @Test func argmaxPicksEachEdgesStrongestOperation() {
        let alphas: [[Double]] = [[0.1, 0.3, 0.2], [0.9, 0, 0], [0, 0, 1], [0.2, 0.5, 0.4]]
        #expect(TabularBenchmark.argmax(of: alphas, in: .tiny) == [1, 0, 2, 1])
    }

    @Test func trainingAnArchitectureIsDeterministicAndCountsOnlyItsOperations() throws {
        var config = EngineFixture.config(space: "tiny", epochs: 1)
        config.tabularTable = "none"
        let dataset = EngineFixture.dataset(config)
        let allSkips = try TabularBenchmark.train([0, 0, 0, 0], config: config, dataset: dataset)
        let allConvolutions = try TabularBenchmark.train([1, 1, 1, 1], config: config, dataset: dataset)
        let again = try TabularBenchmark.train([1, 1, 1, 1], config: config, dataset: dataset)
        #expect(allConvolutions.validAccuracy == again.validAccuracy && allConvolutions.validLoss == again.validLoss)
        #expect(allSkips.validLoss != allConvolutions.validLoss)
        #expect((0...1).contains(allSkips.validAccuracy))
        let supernet = try SearchEngine(config: config, dataset: dataset).supernet.parameters.weightCount
        #expect(allSkips.parameters < allConvolutions.parameters)
        #expect(allConvolutions.parameters < supernet)
    }

    /// Fixed one-hot mixing leaves the unchosen operations out: poisoning
    /// their weights with NaN changes nothing, and the logits equal those of
    /// the full supernet whose softmax puts exactly 0 on them.
    @Test func fixedMixingWeightsComputeOnlyTheChosenOperations() throws {
        var config = EngineFixture.config(space: "tiny", epochs: 1)
        config.tabularTable = "none"
        let engine = try SearchEngine(config: config, dataset: EngineFixture.dataset(config))
        let architecture = [1, 0, 2, 1]
        let oneHot = TabularBenchmark.oneHot(architecture, in: .tiny)
        let images = engine.pipeline.batch(Array(0..<8), augment: false, generator: &engine.generator).images
        func logits(fixed: [Tensor<Float>]?) -> [Float] {
            var generator = RandomGenerator(seed: 1)
            return engine.supernet.forward(images, on: Tape<Float>(), batchNormMode: .training, fixedMixingWeights: fixed,
                                           generator: &generator).logits.value.scalars
        }
        let store = engine.supernet.parameters
        store.alphas[store.alphaNames[0]] = Tensor(shape: oneHot[0].shape, scalars: oneHot[0].scalars.map { $0 * 1000 })
        let full = logits(fixed: nil)
        for name in store.weights.keys {
            guard let match = name.firstMatch(of: /cells\.\d+\._ops\.(\d+)\._ops\.(\d+)\./),
                  architecture[Int(match.1)!] != Int(match.2)! else { continue }
            store.weights[name]!.scalars = store.weights[name]!.scalars.map { _ in .nan }
        }
        let discrete = logits(fixed: oneHot)
        #expect(discrete.allSatisfy { $0.isFinite })
        #expect(discrete == full)
    }

    @Test func searchInATabulatedSpaceReportsRegret() throws {
        let directory = EngineFixture.temporaryDirectory()
        let architectures = try TabularBenchmark.architectures(of: .tiny)
        // A made-up table: accuracy grows with the index of the architecture.
        let table = TabularTable(space: "tiny", dataset: "synthetic", command: "test", budget: [:], entries: architectures.enumerated().map {
            TabularEntry(architecture: TabularBenchmark.name(of: $0.element, in: .tiny), validAccuracy: Double($0.offset) / 100,
                         validLoss: 1, parameters: 1, trainSeconds: 0)
        })
        let path = directory + "/table.json"
        try JSONEncoder().encode(table).write(to: URL(fileURLWithPath: path))
        var config = EngineFixture.config(space: "tiny", epochs: 1)
        config.tabularTable = path
        let (engine, recorder) = try EngineFixture.engine(config)
        while !engine.isFinished { engine.runStep() }
        let epoch = try #require(recorder.events.last { $0.type == "epoch" })
        guard case .string(let architecture)? = epoch.fields["architecture"] else { Issue.record("no architecture field"); return }
        let index = try #require(architectures.firstIndex { TabularBenchmark.name(of: $0, in: .tiny) == architecture })
        #expect(epoch.fields["tabular_acc"]?.doubleValue == Double(index) / 100)
        #expect(epoch.fields["regret"]?.doubleValue == 0.8 - Double(index) / 100)

        func refusal(_ config: SearchConfig) -> String {
            do { _ = try SearchEngine(config: config, dataset: EngineFixture.dataset(config)); return "accepted" } catch { return "\(error)" }
        }
        var otherSpace = config
        otherSpace.space = "s3"
        #expect(refusal(otherSpace).contains("a table of space s3 on synthetic (this one is tiny on synthetic)"), "\(refusal(otherSpace))")
        var otherDataset = config
        otherDataset.dataset = "fashion-mnist"
        #expect(refusal(otherDataset).contains("(this one is tiny on synthetic)"), "\(refusal(otherDataset))")
    }
}
