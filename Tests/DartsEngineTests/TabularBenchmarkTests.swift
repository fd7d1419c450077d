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
    }

    @Test func argmaxPicksEachEdgesStrongestOperation() {
        let alphas = Tensor<Float>(shape: [4, 3], scalars: [0.1, 0.3, 0.2, 0.9, 0, 0, 0, 0, 1, 0.2, 0.5, 0.4])
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

        config.space = "s3"
        #expect(throws: ConfigError.self) { _ = try SearchEngine(config: config, dataset: EngineFixture.dataset(config)) }
    }
}
