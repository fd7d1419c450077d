/// What one regularised weight step did, for the user to judge whether the
/// regulariser is signal or noise (DESIGN §4).
struct LambdaStepReport {
    var lambda: Double
    var epsilon: Double
    var taskNorm: Double
    var regulariserNorm: Double
    var cosine: Double
    var clipFactor = 1.0
    var variant: String
    var mode: String

    var fields: [String: JSONValue] {
        ["lambda": .number(lambda), "epsilon": .number(epsilon), "task_grad_norm": .number(taskNorm),
         "reg_grad_norm": .number(regulariserNorm), "cosine": .number(cosine), "clip_factor": .number(clipFactor),
         "ratio": .number(taskNorm > 0 ? regulariserNorm / taskNorm : .nan), "variant": .string(variant), "fd": .string(mode)]
    }
}

extension SearchEngine {
    /// Adds λ·(G⁺ − G⁻)/(2ε) to the weight gradient (before clipping), from
    /// the normal cells' Λ_l of the base pass on the same batch.
    func addLambdaCorrection(
        to gradients: inout [String: Tensor<Float>], lambda: Double, mode: LambdaDifferenceMode,
        batch: (images: Tensor<Float>, labels: [Int]), layerGradients: [Tensor<Float>],
        patterns: ActivationPatterns?, dropPath: Double, generator: RandomGenerator
    ) -> LambdaStepReport? {
        let variant = LambdaVariant(rawValue: config.lambdaVariant) ?? .corr
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
        return LambdaStepReport(lambda: lambda, epsilon: epsilon, taskNorm: taskNorm, regulariserNorm: regulariserNorm,
                                cosine: taskNorm > 0 && regulariserNorm > 0 ? inner / (taskNorm * regulariserNorm) : 0,
                                variant: variant.rawValue, mode: mode.rawValue)
    }
}
