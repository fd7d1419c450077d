import Testing
@testable import DartsEngine

/// The discretisation gap must measure what discretising costs, and nothing else.
@Suite("discretisation gap")
struct DiscretisationGapTests {
    /// Every BN layer's running statistics, by name.
    func statistics(_ engine: SearchEngine) -> [String: [Float]] {
        var result: [String: [Float]] = [:]
        for (name, layer) in engine.supernet.parameters.batchNorms {
            result[name] = layer.runningMean.scalars + layer.runningVariance.scalars + [Float(layer.batchesTracked)]
        }
        return result
    }

    /// α one-hot to float precision, and every edge the DARTS rule drops set
    /// to `none`: the supernet is then the discrete network (in `tiny` every
    /// edge is kept; in `s3` two edges per node keep an operation, the rest are
    /// `none`). Given the statistics the recalibration would estimate, the two
    /// evaluations agree exactly; and the measurement leaves the run's
    /// statistics as they were.
    /// With per-layer α every cell gets a different one-hot choice, so the
    /// discrete network must be each cell's own, not one per type.
    @Test(arguments: [("tiny", AlphaLayout.shared), ("s3", .shared), ("tiny", .perLayer), ("s3", .perLayer)])
    func aOneHotSupernetHasNoGap(_ space: String, _ layout: AlphaLayout) throws {
        var config = EngineFixture.config(space: space, epochs: 1)
        config.subset = 128
        config.gapRecalibrationBatches = 5
        config.alphaLayout = layout
        let (engine, _) = try EngineFixture.engine(config)
        for _ in 0..<4 { engine.runStep() }  // weights and statistics that are not the initial ones
        let topology = engine.supernet.space.topology
        for (index, name) in engine.supernet.parameters.alphaNames.enumerated() {
            var alphas = engine.supernet.parameters.alphas[name]!
            let width = alphas.shape[1]
            let reduction = layout == .perLayer ? engine.supernet.isReduction(cell: index) : name == "alphas_reduce"
            let operations = engine.supernet.space.operations(reduction: reduction)
            for (node, inputs) in topology.nodeInputs.enumerated() {
                for slot in inputs.indices {
                    let edge = topology.firstEdgeOfNode[node] + slot
                    let none = operations[edge].firstIndex(of: .none)
                    let kept = operations[edge].indices.filter { $0 != none }
                    let chosen = slot < 2 || none == nil ? kept[(edge + node + index) % kept.count] : none!
                    for k in 0..<width { alphas.scalars[edge * width + k] = k == chosen ? 40 : 0 }
                }
            }
            engine.supernet.parameters.alphas[name] = alphas
        }

        // The supernet's own statistics, estimated the way the recalibration estimates the discrete network's.
        for layer in engine.supernet.parameters.batchNorms.values { layer.reset() }
        var sampler = engine.state.trainSampler, noise = engine.state.generator
        for _ in 0..<config.gapRecalibrationBatches {
            let batch = engine.pipeline.batch(sampler.nextBatch(size: config.batchSize), augment: false, generator: &noise)
            _ = engine.supernet.forward(batch.images, on: Tape<Float>(), batchNormMode: .cumulative, weightsRequireGradient: false,
                                        alphasRequireGradient: false, generator: &noise)
        }
        let before = statistics(engine)
        let supernet = engine.evaluate(indices: engine.validationIndices)
        let discrete = engine.evaluateDiscrete()
        #expect(discrete.accuracy == supernet.accuracy, "gap \(supernet.accuracy - discrete.accuracy)")
        #expect(abs(discrete.loss - supernet.loss) < 1e-5 * max(1, supernet.loss), "losses \(supernet.loss) vs \(discrete.loss)")
        #expect(statistics(engine) == before, "the measurement must restore the run's BN statistics")
    }

    /// With the gap measured or not, the run's numbers are bit for bit the
    /// same: weights, α, BN buffers and every step.
    @Test func measuringTheGapChangesNothingInTheRun() throws {
        var on = EngineFixture.config(epochs: 2)
        on.gapRecalibrationBatches = 3
        var off = on
        off.discretisationGap = false
        let (measured, recordMeasured) = try EngineFixture.engine(on)
        let (plain, recordPlain) = try EngineFixture.engine(off)
        while !measured.isFinished { measured.runStep() }
        while !plain.isFinished { plain.runStep() }
        let a = recordMeasured.comparable(types: ["step", "alphas"]), b = recordPlain.comparable(types: ["step", "alphas"])
        #expect(a == b, "\(firstDifference(a, b))")
        func eigenvalues(_ r: EventRecorder) -> [Double] { r.events.filter { $0.type == "hessian" }.compactMap { $0["eigenvalue"]?.doubleValue } }
        #expect(eigenvalues(recordMeasured) == eigenvalues(recordPlain))
        #expect(measured.supernet.parameters.weights == plain.supernet.parameters.weights)
        #expect(measured.supernet.parameters.alphas == plain.supernet.parameters.alphas)
        #expect(statistics(measured) == statistics(plain))
        #expect(measured.state.generator == plain.state.generator && measured.state.trainSampler == plain.state.trainSampler)
        let gaps = recordMeasured.events.filter { $0.type == "epoch" }.compactMap { $0["discretisation_gap"]?.doubleValue }
        #expect(gaps.count == 2)
        #expect(!recordPlain.events.contains { $0["discretisation_gap"] != nil })
    }
}
