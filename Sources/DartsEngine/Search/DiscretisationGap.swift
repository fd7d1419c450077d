extension SearchEngine {
    /// The discrete network α derives — the same weights, one-hot mixing
    /// weights (``Supernet/discreteMixingWeights()``: the genotype's, or each
    /// cell's own under per-layer α) — evaluated on the validation split after its batch
    /// norm statistics are re-estimated for it (DESIGN §5).
    ///
    /// Without the re-estimation the discrete network would normalise with
    /// statistics gathered under the mixture and score near chance: that
    /// measures the statistics mismatch, not the cost of discretising. The
    /// statistics are reset and averaged over `metrics.gap_recalibration_batches`
    /// training batches (the next ones the run's sampler would draw, read from
    /// a copy of it, unaugmented), with no weight update; the run's own
    /// statistics, samplers and random streams are restored untouched, so a
    /// run's numbers are the same with the gap measured or not.
    func evaluateDiscrete() -> (loss: Double, accuracy: Double) {
        let mixing: [Tensor<Float>] = supernet.discreteMixingWeights()
        let statistics = Array(supernet.parameters.batchNorms.values)
        let saved = statistics.map { ($0.runningMean, $0.runningVariance, $0.batchesTracked) }
        defer {
            for (layer, (mean, variance, tracked)) in zip(statistics, saved) {
                layer.runningMean = mean
                layer.runningVariance = variance
                layer.batchesTracked = tracked
            }
        }
        for layer in statistics { layer.reset() }
        var sampler = state.trainSampler
        var noise = state.generator
        for _ in 0..<config.gapRecalibrationBatches {
            let batch = pipeline.batch(sampler.nextBatch(size: config.batchSize), augment: false, generator: &noise)
            let tape = Tape<Float>()
            _ = supernet.forward(batch.images, on: tape, batchNormMode: .cumulative, weightsRequireGradient: false,
                                 alphasRequireGradient: false, fixedMixingWeights: mixing, generator: &noise)
        }
        return evaluate(indices: validationIndices, fixedMixingWeights: mixing)
    }
}
