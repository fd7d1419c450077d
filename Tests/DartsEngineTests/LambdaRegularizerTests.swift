import DartsEngine
import Testing

@Suite("Λ-DARTS regulariser")
struct LambdaRegularizerTests {
    /// A tiny Double supernet (s3, 5 cells: normal cells 0, 2, 4) and a batch.
    static func setUp() -> (Supernet<Double>, Tensor<Double>, [Int]) {
        var generator = RandomGenerator(seed: 21)
        let net = Supernet<Double>(space: .s3, shape: .init(inputChannels: 1, imageSize: 8, classes: 3, initialChannels: 2, layers: 5), generator: &generator)
        for name in net.parameters.alphaNames {
            net.parameters.alphas[name] = Initialiser.normal(shape: net.parameters.alphas[name]!.shape, standardDeviation: 0.5, generator: &generator)
        }
        let input: Tensor<Double> = Initialiser.normal(shape: [4, 1, 8, 8], standardDeviation: 1, generator: &generator)
        return (net, input, [0, 1, 2, 1])
    }

    /// Λ_l of every cell at the current weights, replaying `patterns`.
    static func layerGradients(_ net: Supernet<Double>, _ input: Tensor<Double>, _ labels: [Int], _ mode: PatternMode) -> [Tensor<Double>] {
        let tape = Tape<Double>(patternMode: mode)
        var generator = RandomGenerator(seed: 0)
        let pass = net.forward(input, on: tape, batchNormMode: .batchStatistics, weightsRequireGradient: false, generator: &generator)
        tape.backward(from: pass.logits.crossEntropy(labels: labels))
        return pass.cellMixingWeights.map { $0.grad! }
    }

    static func summedPairwiseCosine(_ g: [Tensor<Double>], _ cells: [Int]) -> Double {
        var total = 0.0
        for a in 0..<cells.count {
            for b in (a + 1)..<cells.count {
                let x = g[cells[a]], y = g[cells[b]]
                total += x.dot(y) / (x.squaredNorm.squareRoot() * y.squaredNorm.squareRoot())
            }
        }
        return total
    }

    @Test(arguments: LambdaVariant.allCases)
    func correctionIsTheDirectionalDerivativeOfTheAlignment(_ variant: LambdaVariant) throws {
        let (net, input, labels) = Self.setUp()
        let cells = net.normalCells
        #expect(cells == [0, 2, 4])
        let patterns = ActivationPatterns()
        let base = Self.layerGradients(net, input, labels, .record(patterns))
        let d = LambdaRegularizer.perturbation(layerGradients: base, normalCells: cells, variant: variant)
        #expect(d[1] == nil && d[3] == nil, "reduction cells get no perturbation")
        let (correction, _) = try #require(net.lambdaCorrection(
            input: input, labels: labels, perturbation: d, epsilon0: 1e-6, mode: .frozen,
            patterns: patterns, dropPathProbability: 0, generator: RandomGenerator(seed: 0)))

        // Independent: −∂/∂w_k of dᵀΛ(w) (d held fixed), by central differences in w.
        var sampler = RandomGenerator(seed: 9)
        var worst = 0.0, checked = 0
        for name in net.parameters.weightNames where name.contains("_ops") || name.hasPrefix("stem") {
            let i = Int(sampler.nextUInt32()) % net.parameters.weights[name]!.count
            func projected(_ shift: Double) -> Double {
                net.parameters.weights[name]!.scalars[i] += shift
                defer { net.parameters.weights[name]!.scalars[i] -= shift }
                let g = Self.layerGradients(net, input, labels, .replay(patterns))
                return cells.reduce(0) { $0 + g[$1].dot(d[$1]!) }
            }
            let h = 1e-5
            let expected = -(projected(h) - projected(-h)) / (2 * h)
            let actual = correction[name]!.scalars[i]
            worst = max(worst, abs(actual - expected) / max(abs(expected), 1e-6))
            checked += 1
        }
        #expect(checked > 20)
        #expect(worst < 1e-4, "\(variant): worst relative error \(worst) over \(checked) weights")
    }

    @Test func corrCorrectionIsTheGradientOfTheSummedPairwiseCosine() throws {
        let (net, input, labels) = Self.setUp()
        let cells = net.normalCells
        let c = 1 / Double(cells.count * (cells.count - 1) / 2)
        let patterns = ActivationPatterns()
        let base = Self.layerGradients(net, input, labels, .record(patterns))
        let d = LambdaRegularizer.perturbation(layerGradients: base, normalCells: cells, variant: .corr)
        let (correction, _) = try #require(net.lambdaCorrection(
            input: input, labels: labels, perturbation: d, epsilon0: 1e-6, mode: .frozen,
            patterns: patterns, dropPathProbability: 0, generator: RandomGenerator(seed: 0)))
        var sampler = RandomGenerator(seed: 10)
        var worst = 0.0
        for name in net.parameters.weightNames where name.contains("op.6") {
            let i = Int(sampler.nextUInt32()) % net.parameters.weights[name]!.count
            func alignment(_ shift: Double) -> Double {
                net.parameters.weights[name]!.scalars[i] += shift
                defer { net.parameters.weights[name]!.scalars[i] -= shift }
                return c * Self.summedPairwiseCosine(Self.layerGradients(net, input, labels, .replay(patterns)), cells)
            }
            let h = 1e-5
            // The correction is −∂(c·Σ cos)/∂w: descending on it raises the alignment.
            let expected = -(alignment(h) - alignment(-h)) / (2 * h)
            worst = max(worst, abs(correction[name]!.scalars[i] - expected) / max(abs(expected), 1e-6))
        }
        #expect(worst < 1e-4, "worst relative error \(worst)")
    }

    @Test func lambdaZeroIsPlainDartsBitForBit() throws {
        var regularised = EngineFixture.config(space: "s3", epochs: 2)
        regularised.layers = 5
        regularised.lambdaEnabled = true
        regularised.lambdaValue = 0
        var plain = regularised
        plain.lambdaEnabled = false
        let (a, recordA) = try EngineFixture.engine(regularised)
        let (b, recordB) = try EngineFixture.engine(plain)
        while !a.isFinished { a.runStep() }
        while !b.isFinished { b.runStep() }
        #expect(recordA.comparable() == recordB.comparable(), "\(firstDifference(recordA.comparable(), recordB.comparable()))")
        #expect(!recordA.events.contains { $0.type == "lambda" })
    }

    @Test(arguments: [("corr", "reference"), ("signcorr", "frozen")])
    func regularisedRunsReportTheRegulariserHealth(_ variant: String, _ mode: String) throws {
        var config = EngineFixture.config(space: "s3", epochs: 2)
        config.layers = 5
        config.lambdaEnabled = true
        config.lambdaRamp = false
        config.lambdaVariant = try #require(LambdaVariant(rawValue: variant))
        config.lambdaDifference = try #require(LambdaDifferenceMode(rawValue: mode))
        let (engine, recorder) = try EngineFixture.engine(config)
        while !engine.isFinished { engine.runStep() }
        let reports = recorder.events.filter { $0.type == "lambda" }
        #expect(reports.count == 8)
        for report in reports {
            for field in ["task_grad_norm", "reg_grad_norm", "cosine", "clip_factor", "epsilon"] {
                #expect((report[field]?.doubleValue ?? .nan).isFinite, "\(field) in \(report.fields)")
            }
        }
        var plain = config
        plain.lambdaEnabled = false
        let (reference, recordPlain) = try EngineFixture.engine(plain)
        while !reference.isFinished { reference.runStep() }
        #expect(recordPlain.comparable(types: ["step"]) != recorder.comparable(types: ["step"]), "the regulariser changed nothing")
    }
}
