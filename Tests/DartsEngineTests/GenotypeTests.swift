import DartsEngine
import Testing

@Suite("genotype")
struct GenotypeTests {
    /// Rows for the DARTS space: none, max, avg, skip, sep3, sep5, dil3, dil5.
    func row(_ values: [Int: Double]) -> [Double] {
        (0..<8).map { values[$0] ?? 0.01 }
    }

    @Test func dartsRuleIgnoresNoneAndKeepsTheTwoStrongestEdges() {
        var weights = Array(repeating: row([:]), count: 14)
        weights[0] = row([0: 0.9, 4: 0.05])  // none dominates but is ignored: best is sep3 at 0.05
        weights[1] = row([3: 0.3])  // skip 0.3
        // node 1: edges 2, 3, 4
        weights[2] = row([5: 0.2])
        weights[3] = row([6: 0.4])
        weights[4] = row([7: 0.3])
        // node 2: edges 5–8, a tie between edges 6 and 8 goes to the earlier one
        weights[6] = row([1: 0.5])
        weights[8] = row([2: 0.5])
        // node 3: edges 9–13
        weights[13] = row([4: 0.6])
        weights[10] = row([3: 0.2])
        let edges = Genotype.derive(weights: weights, operations: SearchSpace.darts.normalOperations, topology: .darts)
        #expect(edges == [
            .init(.skipConnect, 1), .init(.sepConv3x3, 0),
            .init(.dilConv3x3, 1), .init(.dilConv5x5, 2),
            .init(.maxPool3x3, 1), .init(.avgPool3x3, 3),
            .init(.sepConv3x3, 4), .init(.skipConnect, 1),
        ])
    }

    @Test func s1UsesEachEdgesOwnOperationList() {
        // Edge 5 of S1's normal cell is (max_pool_3x3, skip_connect); edge 0 is (skip, dil3).
        var weights = Array(repeating: [0.5, 0.5], count: 14)
        weights[0] = [0.3, 0.7]
        weights[1] = [0.6, 0.4]
        weights[5] = [0.9, 0.1]
        weights[6] = [0.2, 0.8]
        let edges = Genotype.derive(weights: weights, operations: SearchSpace.s1.normalOperations, topology: .darts)
        #expect(edges[0] == .init(.dilConv3x3, 0))
        #expect(edges[1] == .init(.skipConnect, 1))
        #expect(edges[4] == .init(.maxPool3x3, 0))
        #expect(edges[5] == .init(.sepConv3x3, 1))
    }

    @Test func printsInTheReferenceSyntax() {
        let genotype = Genotype(normal: [.init(.sepConv3x3, 0), .init(.skipConnect, 1)], reduce: [.init(.maxPool3x3, 0), .init(.maxPool3x3, 1)], concat: 2..<3)
        #expect(genotype.description == "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=range(2, 3), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=range(2, 3))")
        #expect(genotype.normalSkipCount == 1)
        #expect(genotype.dot.contains("\"normal c_{k-1}\" -> \"normal 0\" [label=\"skip_connect\"]"))
    }

    @Test func supernetDerivesEightEdgesPerCell() {
        var generator = RandomGenerator(seed: 2)
        let net = Supernet<Float>(space: .darts, shape: .init(inputChannels: 1, imageSize: 28, classes: 10, initialChannels: 4, layers: 5), generator: &generator)
        let genotype = net.genotype()
        #expect(genotype.normal.count == 8 && genotype.reduce.count == 8)
        #expect(genotype.concat == 2..<6)
        #expect(genotype.normal.allSatisfy { $0.operation != .none })
    }
}

@Suite("discretisation")
struct DiscretisationTests {
    @Test func oneHotMixingKeepsExactlyTheGenotypesEdges() {
        let genotype = Genotype(
            normal: [.init(.sepConv3x3, 1), .init(.skipConnect, 0), .init(.sepConv3x3, 2), .init(.skipConnect, 1),
                     .init(.skipConnect, 0), .init(.sepConv3x3, 3), .init(.sepConv3x3, 4), .init(.skipConnect, 2)],
            reduce: Array(repeating: .init(.sepConv3x3, 0), count: 8), concat: 2..<6)
        let mixing: [Tensor<Double>] = genotype.oneHotMixing(in: .s3)
        #expect(mixing.count == 2)
        let normal = mixing[0]
        #expect(normal.sum == 8)
        // s3 candidates: none, skip, sep. Edge 1 (n0←c_{k-1}) sep; edge 0 (n0←c_{k-2}) skip.
        #expect(normal.scalars[1 * 3 + 2] == 1 && normal.scalars[0 * 3 + 1] == 1)
        // Node 1 kept inputs 2 (n0) and 1: edges 4 and 3.
        #expect(normal.scalars[4 * 3 + 2] == 1 && normal.scalars[3 * 3 + 1] == 1 && normal.scalars[2 * 3 + 1] == 0)
        let tiny: [Tensor<Float>] = Genotype(normal: [.init(.maxPool3x3, 0), .init(.skipConnect, 1), .init(.sepConv3x3, 1), .init(.sepConv3x3, 2)],
                                             reduce: [], concat: 2..<4).oneHotMixing(in: .tiny)
        #expect(tiny.count == 1 && tiny[0].scalars == [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0])
    }

    @Test func epochEventsCarryTheGap() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        while !engine.isFinished { engine.runStep() }
        let epoch = try #require(recorder.events.first { $0.type == "epoch" })
        let supernet = try #require(epoch["valid_acc"]?.doubleValue), discrete = try #require(epoch["discrete_valid_acc"]?.doubleValue)
        #expect(abs((epoch["discretisation_gap"]?.doubleValue ?? .nan) - (supernet - discrete)) < 1e-12)
    }
}
