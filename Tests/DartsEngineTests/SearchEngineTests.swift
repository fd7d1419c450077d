@testable import DartsEngine
import DartsTelemetry
import Foundation
import Testing

@Suite("search engine")
struct SearchEngineTests {
    @Test func sameConfigAndSeedGiveIdenticalMetrics() throws {
        let (a, recordA) = try EngineFixture.engine(EngineFixture.config())
        let (b, recordB) = try EngineFixture.engine(EngineFixture.config())
        while !a.isFinished { a.runStep() }
        while !b.isFinished { b.runStep() }
        #expect(recordA.comparable().count == 8 + 2 + 2 + 2)  // steps, epochs, α at steps 3 and 6, α at both epoch ends
        #expect(recordA.comparable() == recordB.comparable(), "\(firstDifference(recordA.comparable(), recordB.comparable()))")
        let (c, recordC) = try EngineFixture.engine(EngineFixture.config(seed: 6))
        while !c.isFinished { c.runStep() }
        #expect(recordC.comparable() != recordA.comparable(), "different seeds gave identical runs")
    }

    /// The history a snapshot carries (and every manifest rewrites) keeps
    /// the newest steps the dashboard can draw and a bounded number of the
    /// other events, however long the run.
    @Test func theRememberedHistoryIsBoundedAndKeepsTheNewestEvents() throws {
        let (engine, _) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        let steps = SearchEngine.historyLimit + 300
        let others = SearchEngine.otherHistoryLimit + 300
        for index in 0..<max(steps, others) {
            engine.state.step = index
            if index < steps {
                engine.emit(.step(StepMetrics(trainLoss: 1, trainAccuracy: 0.5, validLoss: 1, validAccuracy: 0.5, learningRate: 0.1,
                                              gradientNorm: 1, clipFactor: 1, stepTime: 0.01)))
            }
            if index < others { engine.emit(.snapshot(SnapshotWritten(name: "s\(index)", command: "test"))) }
        }
        let remembered = engine.history.filter { $0.type == StepMetrics.type }
        #expect(remembered.count == SearchEngine.historyLimit)
        #expect(remembered.first?.step == steps - SearchEngine.historyLimit && remembered.last?.step == steps - 1)
        #expect(SearchEngine.historyLimit == MetricsStore.defaultStepHistory, "steps the dashboard cannot draw would be kept")
        let rest = engine.history.filter { $0.type != StepMetrics.type }
        #expect(rest.count == SearchEngine.otherHistoryLimit)
        #expect(rest.first?.step == others - SearchEngine.otherHistoryLimit && rest.last?.step == others - 1)
    }

    @Test func weightAndArchitectureStepsMoveTheParameters() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        let alphasBefore = engine.supernet.parameters.alphas
        let weightsBefore = engine.supernet.parameters.weights
        engine.runStep()
        #expect(engine.supernet.parameters.alphas != alphasBefore)
        #expect(engine.supernet.parameters.weights["classifier.weight"] != weightsBefore["classifier.weight"])
        let step = try #require(recorder.events.first { $0.type == "step" })
        #expect(step["train_loss"]?.doubleValue.map { $0 > 0 && $0 < 5 } == true)
        #expect(step["lr"]?.doubleValue == 0.025)
    }

    @Test func secondOrderStepRuns() throws {
        var config = EngineFixture.config(epochs: 1)
        config.order = .second
        let (engine, recorder) = try EngineFixture.engine(config)
        while !engine.isFinished { engine.runStep() }
        #expect(engine.divergence == nil)
        #expect(recorder.events.filter { $0.type == "step" }.count == 4)
    }

    /// The on-demand spectrum: every eigenvalue of the full α-Hessian, the
    /// run's Lanczos estimate on the same batch within its tolerance of the
    /// largest, the run's reported eigenvalue equal to that estimate, and no
    /// trace left in the run (samplers and α as they were).
    @Test func fullSpectrumBacksTheRunsEigenvalueAndLeavesTheRunAlone() throws {
        var config = EngineFixture.config(epochs: 1)
        config.hessianTolerance = 1e-4
        let (engine, recorder) = try EngineFixture.engine(config)
        let (twin, twinRecorder) = try EngineFixture.engine(config)
        for _ in 0..<2 { engine.runStep(); twin.runStep() }
        let alphas = engine.supernet.parameters.alphas
        var columns = 0
        let spectrum = engine.curvatureSpectrum { done, _ in columns = done }
        let dimension = engine.supernet.parameters.alphaNames.reduce(0) { $0 + engine.supernet.parameters.alphas[$1]!.count }
        #expect(spectrum.dimension == dimension && spectrum.eigenvalues.count == dimension && columns == dimension)
        #expect(spectrum.fullHessianProducts == dimension)
        #expect(zip(spectrum.eigenvalues, spectrum.eigenvalues.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(spectrum.dominant > 0)
        #expect(spectrum.lanczosRelativeError < 1e-3, "Lanczos \(spectrum.lanczosEigenvalue) vs largest \(spectrum.dominant)")
        #expect(engine.supernet.parameters.alphas == alphas)
        while !engine.isFinished { engine.runStep() }
        while !twin.isFinished { twin.runStep() }
        let types: Set<String> = ["step", "epoch", "alphas"]
        #expect(recorder.comparable(types: types) == twinRecorder.comparable(types: types))
        func eigenvalues(_ r: EventRecorder) -> [Double] { r.events.filter { $0.type == "hessian" }.compactMap { $0["eigenvalue"]?.doubleValue } }
        #expect(!eigenvalues(recorder).isEmpty && eigenvalues(recorder) == eigenvalues(twinRecorder))
        // What the run would report at that point is the spectrum's Lanczos estimate.
        let (probe, _) = try EngineFixture.engine(config)
        for _ in 0..<2 { probe.runStep() }
        #expect(probe.measureCurvature(atEpochEnd: false) == spectrum.lanczosEigenvalue)
    }

    @Test func cosineScheduleMatchesPyTorch() {
        // CosineAnnealingLR(T_max=50, eta_min=0.001) from 0.025: epoch 25 → 0.013.
        #expect(abs(cosineLearningRate(epoch: 25, epochs: 50, initial: 0.025, minimum: 0.001) - 0.013) < 1e-12)
        #expect(cosineLearningRate(epoch: 0, epochs: 50, initial: 0.025, minimum: 0.001) == 0.025)
    }

    @Test func sgdAndAdamFollowPyTorchUpdateRules() {
        var weights = ["w": Tensor<Float>(shape: [2], scalars: [1, -2])]
        var sgd = MomentumSGD()
        let g = ["w": Tensor<Float>(shape: [2], scalars: [0.5, 0.25])]
        sgd.step(&weights, gradients: g, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        // d = g + 0.01 w = (0.51, 0.23); b = d; w -= 0.1 b
        #expect(abs(weights["w"]!.scalars[0] - (1 - 0.051)) < 1e-6)
        sgd.step(&weights, gradients: g, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        let d2 = 0.5 + 0.01 * (1 - 0.051), b2 = 0.9 * 0.51 + d2
        #expect(abs(Double(weights["w"]!.scalars[0]) - (1 - 0.051 - 0.1 * b2)) < 1e-6)

        var alpha = ["a": Tensor<Float>(shape: [1], scalars: [0.5])]
        var adam = Adam()
        adam.step(&alpha, gradients: ["a": Tensor(shape: [1], scalars: [0.2])], learningRate: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3)
        // First Adam step moves by lr · sign(g + λa) (bias-corrected m/√v = ±1).
        #expect(abs(Double(alpha["a"]!.scalars[0]) - (0.5 - 3e-4)) < 1e-7)
    }

    @Test func gradientClippingScalesToTheLimit() {
        var gradients = ["a": Tensor<Float>(shape: [2], scalars: [3, 4])]
        let (norm, factor) = clipGlobalNorm(&gradients, maxNorm: 1)
        #expect(abs(norm - 5) < 1e-9 && abs(factor - 0.2) < 1e-6)
        #expect(abs(gradients["a"]!.squaredNorm.squareRoot() - 1) < 1e-5)
    }

    @Test func nonFiniteLossStopsTheRunWithoutApplyingTheUpdate() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        engine.runStep()
        engine.supernet.parameters.weights["classifier.bias"]!.scalars[0] = .nan
        let alphas = engine.supernet.parameters.alphas
        let stem = engine.supernet.parameters.weights["stem.0.weight"]
        engine.runStep()
        #expect(engine.divergence?.contains("not finite at step 1") == true, "\(engine.divergence ?? "no divergence")")
        #expect(engine.isFinished)
        #expect(engine.step == 1)
        #expect(recorder.events.last?.type == "diverged")
        #expect(engine.supernet.parameters.alphas == alphas, "α must not take the non-finite update")
        #expect(engine.supernet.parameters.weights["stem.0.weight"] == stem)
        engine.runStep()
        #expect(engine.step == 1, "a diverged run does not step again")
    }
}

@Suite("layer alignment")
struct LayerAlignmentTests {
    @Test func cosineMatrixAndPairMean() {
        let a = Tensor<Float>(shape: [1, 2], scalars: [1, 0])
        let b = Tensor<Float>(shape: [1, 2], scalars: [0, 2])
        let c = Tensor<Float>(shape: [1, 2], scalars: [-3, 0])
        let alignment = LayerAlignment(layerGradients: [a, b, c, a], cellsByType: [[0, 1, 2], [3]])
        #expect(alignment.cosines[0] == [[1, 0, -1], [0, 1, 0], [-1, 0, 1]])
        #expect(alignment.meanPairCosine(type: 0) == -1.0 / 3)
        #expect(alignment.meanPairCosine(type: 1) == nil)
    }

    @Test func everyStepReportsAlignmentOnBothSteps() throws {
        let (engine, recorder) = try EngineFixture.engine(EngineFixture.config(epochs: 1))
        engine.runStep()
        let event = try #require(recorder.events.first { $0.type == "alignment" })
        // Three cells: cell 0 is normal, cells 1 and 2 (L/3, 2L/3) reduce.
        guard case .array(let train)? = event["train_cosine_reduce"], case .array(let layers)? = event["layer_alpha_gradients"] else {
            Issue.record("alignment fields missing: \(event.fields.keys.sorted())")
            return
        }
        #expect(train.count == 2)
        #expect(layers.count == 3)
        #expect(event["valid_corr_reduce"]?.doubleValue.map { abs($0) <= 1 } == true)
        #expect(event["train_corr_normal"] == .null)  // one normal cell: no pairs
    }

    /// A space with one α for both cell types still describes its reduction
    /// cells as `reduce` (the dashboard's titles; `genotype` says the same).
    @Test func aSharedAlphaRunNamesItsReductionCells() throws {
        var config = EngineFixture.config(space: "tiny-s3")
        config.layers = 5
        let (engine, _) = try EngineFixture.engine(config)
        let run = engine.runDescription
        #expect(run.cellTypes == ["normal"])
        #expect(run.cells == ["normal", "reduce", "normal", "reduce", "normal"])
        #expect(run.cells(mixingAlphaOf: "normal") == [0, 1, 2, 3, 4])
    }
}
