extension SearchEngine {
    /// Adds λ·(G⁺ − G⁻)/(2ε) to the weight gradient (before clipping), from
    /// the normal cells' Λ_l of the base pass on the same batch.
    func addLambdaCorrection(
        to gradients: inout [String: Tensor<Float>], lambda: Double, mode: LambdaDifferenceMode,
        batch: (images: Tensor<Float>, labels: [Int]), layerGradients: [Tensor<Float>],
        patterns: ActivationPatterns?, dropPath: Double, generator: RandomGenerator
    ) -> LambdaHealth? {
        let variant = config.lambdaVariant
        let perturbation = LambdaRegularizer.perturbation(layerGradients: layerGradients, normalCells: supernet.normalCells, variant: variant)
        guard let (correction, epsilon) = supernet.lambdaCorrection(
            input: batch.images, labels: batch.labels, perturbation: perturbation, epsilon0: config.lambdaEpsilon,
            mode: mode, patterns: patterns, dropPathProbability: dropPath, generator: generator) else { return nil }
        var taskSquared = 0.0, regulariserSquared = 0.0, inner = 0.0
        for name in gradients.keys.sorted() {
            guard var term = correction[name] else { continue }
            term.scale(by: Float(lambda))
            taskSquared += gradients[name]!.squaredNorm
            regulariserSquared += term.squaredNorm
            inner += gradients[name]!.dot(term)
            gradients[name]!.add(term)
        }
        let taskNorm = taskSquared.squareRoot(), regulariserNorm = regulariserSquared.squareRoot()
        // The clip factor is filled in once the whole gradient is clipped.
        return LambdaHealth(lambda: lambda, epsilon: epsilon, taskGradientNorm: taskNorm, regulariserGradientNorm: regulariserNorm,
                            cosine: taskNorm > 0 && regulariserNorm > 0 ? inner / (taskNorm * regulariserNorm) : 0,
                            clipFactor: 1, variant: variant.rawValue, differenceMode: mode.rawValue)
    }
}
