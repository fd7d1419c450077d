/// Λ-DARTS (Movahedi et al., ICLR 2023; DESIGN §4): a weight-step term that
/// pushes the weights towards larger agreement between the cells' gradients
/// Λ_l, from two extra passes on the same training batch. The formulas are
/// ``LambdaRegularizer``'s; this file decides when they run and reports their
/// health, so a user can see when the term is mostly finite-difference noise.
public struct LambdaDarts: Remedy {
    public static let name = "lambda"
    public static let summary = "Λ-DARTS: align the layers' α-gradients through a weight-step term (two extra passes per step while λ > 0)."
    public static let parameters: [ParameterSpec] = [
        .flag("lambda.enabled", default: false, "Λ-DARTS regulariser on the weight step (two extra passes per step while λ > 0)."),
        .real("lambda.value", default: 0.125, 0...1000, "λ, the regulariser's weight (reached at the last epoch when ramped)."),
        .flag("lambda.ramp", default: true, "Ramp λ linearly from 0 at the first epoch to lambda.value at the last."),
        .choice("lambda.variant", default: LambdaVariant.corr, "corr: gradient of the summed pairwise cosine; signcorr: the sign-weighted variant."),
        .real("lambda.epsilon", default: 1e-4, 1e-12...1, "ε0 of the difference quotient, ε = ε0 / ‖d‖."),
        .choice("lambda.fd", default: LambdaDifferenceMode.reference,
                "reference: the published ± passes; frozen: they replay the base pass's activation pattern (exact directional derivative)."),
    ]

    public init() {}

    /// λ at the current epoch (0 while off).
    func lambda(_ engine: SearchEngine) -> Double {
        let config = engine.config
        guard config.lambdaEnabled else { return 0 }
        return config.lambdaRamp ? engine.ramped(config.lambdaValue) : config.lambdaValue
    }

    public func recordsActivationPatterns(engine: SearchEngine) -> Bool {
        lambda(engine) > 0 && engine.config.lambdaDifference == .frozen
    }

    /// Adds λ·(G⁺ − G⁻)/(2ε) to the weight gradient, from the normal cells'
    /// Λ_l of the base pass on the same batch.
    public func adjustWeightGradient(_ gradients: inout [String: Tensor<Float>], step: WeightStepContext, engine: SearchEngine) -> WeightTermReport? {
        let lambda = lambda(engine)
        guard lambda > 0 else { return nil }
        let config = engine.config
        let supernet = engine.supernet
        let perturbation = LambdaRegularizer.perturbation(layerGradients: step.layerGradients, normalCells: supernet.normalCells,
                                                          variant: config.lambdaVariant)
        guard let (correction, epsilon) = supernet.lambdaCorrection(
            input: step.images, labels: step.labels, perturbation: perturbation, epsilon0: config.lambdaEpsilon,
            mode: config.lambdaDifference, patterns: step.patterns, dropPathProbability: step.plan.dropPathProbability,
            generator: step.generator) else { return nil }
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
        let cosine = taskNorm > 0 && regulariserNorm > 0 ? inner / (taskNorm * regulariserNorm) : 0
        let variant = config.lambdaVariant.rawValue, mode = config.lambdaDifference.rawValue
        return WeightTermReport { clipFactor in
            .lambda(LambdaHealth(lambda: lambda, epsilon: epsilon, taskGradientNorm: taskNorm, regulariserGradientNorm: regulariserNorm,
                                 cosine: cosine, clipFactor: clipFactor, variant: variant, differenceMode: mode))
        }
    }
}

extension SearchConfig {
    public var lambdaEnabled: Bool {
        get { remedyFlag("lambda.enabled") }
        set { self[remedy: "lambda.enabled"] = .flag(newValue) }
    }
    /// λ; with the ramp it is reached at the last epoch (0 at the first).
    public var lambdaValue: Double {
        get { remedyReal("lambda.value") }
        set { self[remedy: "lambda.value"] = .real(newValue) }
    }
    public var lambdaRamp: Bool {
        get { remedyFlag("lambda.ramp") }
        set { self[remedy: "lambda.ramp"] = .flag(newValue) }
    }
    public var lambdaVariant: LambdaVariant {
        get { remedyChoice("lambda.variant") }
        set { self[remedy: "lambda.variant"] = .text(newValue.rawValue) }
    }
    /// ε0 of ε = ε0 / ‖d‖.
    public var lambdaEpsilon: Double {
        get { remedyReal("lambda.epsilon") }
        set { self[remedy: "lambda.epsilon"] = .real(newValue) }
    }
    public var lambdaDifference: LambdaDifferenceMode {
        get { remedyChoice("lambda.fd") }
        set { self[remedy: "lambda.fd"] = .text(newValue.rawValue) }
    }
}
