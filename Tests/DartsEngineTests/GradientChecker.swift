import DartsEngine

/// Compares an op's backward pass with central finite differences, in Double.
///
/// The output is reduced to a scalar with a fixed random projection r, so one
/// backward pass (seeded with r) gives the analytic gradient of Σ r⊙f(x) for
/// every input, and each input element is checked against
/// (Σ r⊙f(x + h·eᵢ) − Σ r⊙f(x − h·eᵢ)) / 2h.
struct GradientChecker {
    typealias Build = (Tape<Double>, [Variable<Double>]) -> Variable<Double>

    var step = 1e-6
    var absoluteTolerance = 1e-6
    var relativeTolerance = 1e-5

    struct Report: CustomStringConvertible {
        var worstAbsoluteError = 0.0
        var worstRelativeError = 0.0
        var failures: [String] = []
        var checkedElements = 0
        var passed: Bool { failures.isEmpty && checkedElements > 0 }
        var description: String {
            "checked \(checkedElements), worst abs \(worstAbsoluteError), worst rel \(worstRelativeError); "
                + failures.prefix(5).joined(separator: "; ")
        }
    }

    /// Checks the gradient with respect to the inputs whose indices are in
    /// `differentiable` (all inputs when nil).
    func check(_ inputs: [Tensor<Double>], differentiable: Set<Int>? = nil, seed: UInt64 = 7, _ build: Build) -> Report {
        let wrt = differentiable ?? Set(inputs.indices)
        var generator = RandomGenerator(seed: seed)
        let tape = Tape<Double>()
        let variables = inputs.enumerated().map { tape.variable($1, requiresGrad: wrt.contains($0)) }
        let output = build(tape, variables)
        let projection: Tensor<Double> = Initialiser.normal(shape: output.shape, standardDeviation: 1, generator: &generator)
        tape.backward(from: output, seed: projection)

        func projected(_ perturbed: [Tensor<Double>]) -> Double {
            let tape = Tape<Double>()
            let variables = perturbed.map { tape.constant($0) }
            return build(tape, variables).value.dot(projection)
        }

        var report = Report()
        for index in inputs.indices where wrt.contains(index) {
            let analytic = variables[index].grad ?? Tensor(zeros: inputs[index].shape)
            for element in 0..<inputs[index].count {
                var plus = inputs, minus = inputs
                plus[index].scalars[element] += step
                minus[index].scalars[element] -= step
                let numeric = (projected(plus) - projected(minus)) / (2 * step)
                let exact = analytic.scalars[element]
                let error = abs(exact - numeric)
                report.checkedElements += 1
                report.worstAbsoluteError = max(report.worstAbsoluteError, error)
                report.worstRelativeError = max(report.worstRelativeError, error / max(abs(numeric), 1e-12))
                if error > absoluteTolerance + relativeTolerance * abs(numeric) {
                    report.failures.append("input \(index)[\(element)]: analytic \(exact), numeric \(numeric)")
                }
            }
        }
        return report
    }
}

/// Random test tensors in Double.
struct TestData {
    var generator: RandomGenerator

    init(seed: UInt64 = 42) { generator = RandomGenerator(seed: seed) }

    mutating func normal(_ shape: [Int], scale: Double = 1) -> Tensor<Double> {
        Initialiser.normal(shape: shape, standardDeviation: scale, generator: &generator)
    }

    mutating func uniform(_ shape: [Int], _ range: Range<Double>) -> Tensor<Double> {
        let count = shape.elementCount
        return Tensor(shape: shape, scalars: (0..<count).map { _ in generator.nextUniform(in: range) })
    }
}
