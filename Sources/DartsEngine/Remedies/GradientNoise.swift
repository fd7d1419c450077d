/// A control, not a published remedy: isotropic Gaussian noise added to the
/// weight gradient, its norm a set multiple of the gradient's own, ramped
/// linearly from 0 at the first epoch to `reg.gradient_noise` at the last.
///
/// It exists to test one reading of Λ-DARTS's `reference` results
/// (docs/remedies.md): that the published finite-difference term prevents
/// collapse not as a regulariser but as a large perturbation of the weight
/// gradient nearly orthogonal to it (its measured cosine with the task
/// gradient is ≈ 0 and its norm grows to several times the gradient's). With
/// λ ramped the same way, the two can be compared at equal relative norm.
/// The noise comes from the run's generator, so runs stay reproducible and
/// resume exactly; at 0 nothing is drawn and the run is plain DARTS bit for bit.
public struct GradientNoise: Remedy {
    public static let name = "gradient_noise"
    public static let summary = "Control: Gaussian noise on the weight gradient with a norm ramped to a multiple of the gradient's own."
    public static let parameters: [ParameterSpec] = [
        .real("reg.gradient_noise", default: 0, 0...100,
              "Norm of Gaussian noise added to the weight gradient, as a multiple of that gradient's norm, at the last epoch (ramped from 0); 0 = off."),
    ]

    public init() {}

    /// The noise's relative norm at the current epoch (0 while off).
    func relativeNorm(_ engine: SearchEngine) -> Double {
        engine.ramped(engine.config.gradientNoise)
    }

    public func adjustWeightGradient(_ gradients: inout [String: Tensor<Float>], step: WeightStepContext, engine: SearchEngine) -> WeightTermReport? {
        let relative = relativeNorm(engine)
        guard relative > 0 else { return nil }
        Self.addNoise(to: &gradients, relativeNorm: relative, generator: &engine.generator)
        return nil
    }

    /// Adds n to the gradients, n isotropic over all their entries with
    /// ‖n‖ = `relativeNorm` · ‖g‖, g the gradient as the earlier remedies
    /// left it (the task gradient unless Λ-DARTS also runs). A zero or
    /// non-finite gradient is left as it is (the weight step skips
    /// non-finite ones; a zero one has no scale).
    static func addNoise(to gradients: inout [String: Tensor<Float>], relativeNorm: Double, generator: inout RandomGenerator) {
        let names = gradients.keys.sorted()
        let gradientNorm = globalNorm(gradients)
        guard gradientNorm > 0, gradientNorm.isFinite else { return }
        let noise = names.map { name in
            (0..<gradients[name]!.scalars.count).map { _ in generator.nextStandardNormal() }
        }
        let noiseNorm = noise.reduce(0.0) { total, values in values.reduce(total) { $0 + $1 * $1 } }.squareRoot()
        guard noiseNorm > 0 else { return }
        let scale = relativeNorm * gradientNorm / noiseNorm
        for (index, name) in names.enumerated() {
            for position in noise[index].indices {
                gradients[name]!.scalars[position] += Float(scale * noise[index][position])
            }
        }
    }
}

extension SearchConfig {
    /// Relative norm of the weight-gradient noise reached at the last epoch; 0 = off.
    public var gradientNoise: Double {
        get { remedyReal("reg.gradient_noise") }
        set { self[remedy: "reg.gradient_noise"] = .real(newValue) }
    }
}
