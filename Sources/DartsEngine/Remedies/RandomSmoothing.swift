import Foundation

/// SDARTS-RS (Chen & Hsieh, ICML 2020): the weight step mixes with a randomly
/// perturbed architecture, so the weights are trained for a neighbourhood of
/// α rather than for α alone and the validation loss is smoothed around it —
/// an implicit penalty on the α-Hessian's dominant eigenvalue.
///
/// As in the paper, the noise is uniform on [−ε, ε] and added to the mixing
/// weights softmax(α) (not to α); each edge's perturbed weights are clipped to
/// [0, 1] and renormalised. The engine's hook perturbs α, so the result is
/// handed back as log p (softmax(log p) = p; a clipped 0 becomes the smallest
/// normal float, whose weight is below float rounding of the others). ε ramps
/// linearly from a tenth of its value at the first epoch to its value at the
/// last (the paper's 0.03 → 0.3). The noise comes from the run's generator, so
/// runs stay reproducible and resume exactly.
public struct RandomSmoothing: Remedy {
    public static let name = "sdarts_rs"
    public static let summary = "SDARTS-RS: the weight step mixes with softmax(α) plus uniform noise of radius ε (ramped), clipped and renormalised."
    public static let parameters: [ParameterSpec] = [
        .real("reg.sdarts_epsilon", default: 0, 0...1,
              "SDARTS-RS noise radius on the weight step's mixing weights at the last epoch (a tenth of it at the first); 0 = off."),
    ]

    public init() {}

    /// ε at the current epoch (0 while off).
    func radius(_ engine: SearchEngine) -> Double {
        let final = engine.config.sdartsEpsilon
        guard final > 0 else { return 0 }
        return final / 10 + engine.ramped(final * 0.9)
    }

    public func perturbWeightStepAlphas(_ alphas: inout [String: Tensor<Float>], engine: SearchEngine) -> Bool {
        let epsilon = radius(engine)
        guard epsilon > 0 else { return false }
        for name in alphas.keys.sorted() {
            Self.perturb(&alphas[name]!, radius: epsilon, generator: &engine.generator)
        }
        return true
    }

    /// Replaces each row of `alphas` by log p̃, p̃ = normalise(clip(softmax(row) + U[−ε, ε], 0, 1)).
    static func perturb(_ alphas: inout Tensor<Float>, radius epsilon: Double, generator: inout RandomGenerator) {
        let columns = alphas.shape[1]
        for row in 0..<alphas.shape[0] {
            let start = row * columns
            let logits = (0..<columns).map { Double(alphas.scalars[start + $0]) }
            let largest = logits.max()!
            let exponentials = logits.map { exp($0 - largest) }
            let total = exponentials.reduce(0, +)
            var probabilities = exponentials.map { min(1, max(0, $0 / total + generator.nextUniform(in: -epsilon..<epsilon))) }
            let mass = probabilities.reduce(0, +)
            if mass == 0 {
                probabilities[logits.firstIndex(of: largest)!] = 1
            } else {
                probabilities = probabilities.map { $0 / mass }
            }
            for column in 0..<columns {
                alphas.scalars[start + column] = Float(log(max(probabilities[column], Double(Float.leastNormalMagnitude))))
            }
        }
    }
}

extension SearchConfig {
    /// SDARTS-RS noise radius reached at the last epoch; 0 = off.
    public var sdartsEpsilon: Double {
        get { remedyReal("reg.sdarts_epsilon") }
        set { self[remedy: "reg.sdarts_epsilon"] = .real(newValue) }
    }
}
