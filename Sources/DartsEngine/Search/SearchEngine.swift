import Foundation

/// The DARTS search loop (DESIGN §3) over one supernet and one dataset.
///
/// Each step is an architecture step on a search-validation batch (Adam on α)
/// followed by a weight step on a search-train batch (clipped SGD with
/// momentum on the weights). Everything random comes from generators derived
/// from `search.seed`, so the same config, seed and thread count reproduce a
/// run exactly.
public final class SearchEngine {
    typealias Batch = (images: Tensor<Float>, labels: [Int])

    /// Everything the search mutates besides tensors (DESIGN §8).
    public internal(set) var state: SearchState
    public let supernet: Supernet<Float>
    public let dataset: Dataset
    let pipeline: BatchPipeline
    let validationIndices: [Int]
    /// The remedies' hooks run in this order (``Remedies/all``; tests may add their own).
    var remedies = Remedies.instantiate()
    var weightOptimizer = MomentumSGD()
    var archOptimizer = Adam()
    public let stepsPerEpoch: Int

    // The parts of `state` the search loop reads and writes most.
    public internal(set) var config: SearchConfig {
        get { state.config }
        _modify { yield &state.config }
        set { state.config = newValue }
    }
    public internal(set) var step: Int {
        get { state.step }
        set { state.step = newValue }
    }
    public internal(set) var epoch: Int {
        get { state.epoch }
        set { state.epoch = newValue }
    }
    public internal(set) var stepInEpoch: Int {
        get { state.stepInEpoch }
        set { state.stepInEpoch = newValue }
    }
    var generator: RandomGenerator {
        get { state.generator }
        _modify { yield &state.generator }
        set { state.generator = newValue }
    }
    public var stoppedEarly: Bool { state.stoppedEarly }
    public var divergence: String? { state.divergence }
    public var journal: [JournalEntry] { state.journal }
    public var history: [TelemetryEvent] { state.history }
    /// As many steps as the dashboard's store draws: a snapshot's history
    /// only refills that store, so older steps would be rewritten into every
    /// manifest and never shown.
    static let historyLimit = MetricsStore.defaultStepHistory
    /// Remembered events other than steps: some 500 epochs of epoch ends, α and eigenvalues.
    static let otherHistoryLimit = 2000
    var sinks: [MetricsSink] = []
    let clockStart = Date()
    /// Where snapshots go (epoch-end ones and those asked for); nil = none.
    public var snapshotDirectory: String?
    /// Where applied commands are appended as JSON Lines; nil = nowhere.
    public var journalPath: String?
    /// Mixing weights the weight step uses instead of softmax(α): training a
    /// discrete architecture for the tabular benchmark.
    var fixedMixingWeights: [Tensor<Float>]?
    /// The ground truth of a tabulated space, for regret at epoch ends.
    public let tabular: TabularTable?

    public init(config: SearchConfig, dataset: Dataset) throws {
        try config.validateCombination()
        guard let space = SearchSpace.named(config.space) else {
            throw ConfigError.invalidValue(key: "network.space", value: config.space, allowed: SearchSpace.all.map(\.name).joined(separator: ", "))
        }
        self.dataset = dataset
        var master = RandomGenerator(seed: UInt64(config.seed))
        var initialisation = master.split()
        supernet = Supernet(
            space: space,
            shape: NetworkShape(inputChannels: dataset.channels, imageSize: dataset.height, classes: dataset.classes,
                                initialChannels: config.initialChannels, layers: config.layers),
            alphas: config.alphaLayout, generator: &initialisation)
        pipeline = BatchPipeline(dataset: dataset, randomCropAndFlip: config.randomCropAndFlip, cutoutLength: config.cutoutLength)
        let split = Int((Double(dataset.count) * config.trainPortion).rounded(.down))
        // Two images a side: a training-mode batch norm needs two values per channel.
        guard split >= 2, dataset.count - split >= 2 else {
            throw ConfigError.invalidValue(key: "data.train_portion", value: formatReal(config.trainPortion),
                                           allowed: "a portion leaving at least two images on each side of the split of \(dataset.count) images")
        }
        let trainSampler = BatchSampler(indices: Array(0..<split), generator: master.split())
        validationIndices = Array(split..<dataset.count)
        let validSampler = BatchSampler(indices: validationIndices, generator: master.split())
        let generator = master.split()
        let hessianSampler = BatchSampler(indices: validationIndices, generator: master.split())
        state = SearchState(config: config, generator: generator, trainSampler: trainSampler, validSampler: validSampler,
                            hessianSampler: hessianSampler)
        stepsPerEpoch = trainSampler.batchesPerPass(batchSize: config.batchSize)
        tabular = try Self.tabularTable(config)
    }

    /// Where the search stands in a tabulated space: the architecture α
    /// currently derives, its tabular accuracy (nil if the table lacks it)
    /// and the table's best entry. Nil without a table.
    public func tabularStanding() -> (architecture: String, accuracy: Double?, best: TabularEntry)? {
        guard let tabular, let best = tabular.best else { return nil }
        let architecture = TabularBenchmark.name(of: TabularBenchmark.argmax(of: supernet.typeMixingWeights()[0], in: supernet.space), in: supernet.space)
        return (architecture, tabular.entry(for: architecture)?.validAccuracy, best)
    }

    /// The table named by `tabular.table`, or the shipped one of the space
    /// and dataset; a named table must exist and be for this space and
    /// dataset (regret against another dataset's accuracies means nothing).
    static func tabularTable(_ config: SearchConfig) throws -> TabularTable? {
        guard config.tabularTable != "none" else { return nil }
        let shipped = "tabular/\(config.space)-\(config.dataset).json"
        guard let path = config.tabularTable.isEmpty ? SearchConfig.shippedFile(shipped) : config.tabularTable else { return nil }
        let table = try TabularTable.load(path)
        guard table.space == config.space, table.dataset == config.dataset else {
            throw ConfigError.invalidValue(key: "tabular.table", value: path,
                                           allowed: "a table of space \(config.space) on \(config.dataset) (this one is \(table.space) on \(table.dataset))")
        }
        return table
    }

    public func addSink(_ sink: MetricsSink) { sinks.append(sink) }

    public var totalSteps: Int { stepsPerEpoch * config.epochs }
    public var isFinished: Bool { epoch >= config.epochs || divergence != nil || stoppedEarly }
    public var wallTime: Double { Date().timeIntervalSince(clockStart) }

    /// The weight learning rate of the current epoch (cosine schedule).
    public var learningRate: Double {
        cosineLearningRate(epoch: epoch, epochs: config.epochs, initial: config.learningRate, minimum: config.learningRateMin)
    }

    /// A regulariser's value at the current epoch when it ramps linearly from
    /// 0 at the first epoch to `final` at the last (R-DARTS's schedules).
    func ramped(_ final: Double) -> Double {
        config.epochs > 1 ? final * Double(epoch) / Double(config.epochs - 1) : final
    }

    func emit(_ payload: TelemetryEvent.Payload) {
        let event = TelemetryEvent(step: step, epoch: epoch, wallTime: wallTime, payload: payload)
        remember(event)
        for sink in sinks { sink.record(event) }
    }

    /// Runs one search step (and the epoch end when it completes an epoch).
    public func runStep() {
        guard !isFinished else { return }
        let started = Date()
        var plan = StepPlan()
        for remedy in remedies { remedy.schedule(&plan, engine: self) }
        supernet.auxiliarySkipWeight = plan.auxiliarySkipWeight
        let train = pipeline.batch(state.trainSampler.nextBatch(size: config.batchSize), augment: true, cutoutProbability: plan.cutoutProbability,
                                   generator: &state.generator)
        let valid = pipeline.batch(state.validSampler.nextBatch(size: config.batchSize), augment: true, cutoutProbability: plan.cutoutProbability,
                                   generator: &state.generator)
        let lr = learningRate

        // (1) Architecture step.
        let arch = architectureStep(train: train, valid: valid, learningRate: lr, plan: plan)
        guard arch.isFinite else {
            return diverge("validation loss \(arch.loss) or its α-gradient is not finite at step \(step)")
        }
        // (2) Weight step.
        let weights = weightStep(train: train, learningRate: lr, plan: plan)
        for report in weights.remedyReports { emit(report) }
        guard weights.loss.isFinite, weights.clip.norm.isFinite else {
            return diverge("training loss \(weights.loss) or weight-gradient norm \(weights.clip.norm) is not finite at step \(step)")
        }
        // Finite gradients can still overflow a weight, a BN statistic or a moment.
        guard requireFiniteState(after: "the weight step") else { return }
        state.epochTotals.add(loss: weights.loss, accuracy: weights.accuracy, count: train.labels.count)
        step += 1
        stepInEpoch += 1
        emit(.step(StepMetrics(
            trainLoss: weights.loss, trainAccuracy: weights.accuracy, validLoss: arch.loss, validAccuracy: arch.accuracy,
            learningRate: lr, gradientNorm: weights.clip.norm, clipFactor: weights.clip.factor,
            stepTime: Date().timeIntervalSince(started))))
        emitAlignment(train: weights.layerGradients, valid: arch.layerGradients)
        if config.hessianEvery > 0 && step % config.hessianEvery == 0 && stepInEpoch != stepsPerEpoch {
            measureCurvature(atEpochEnd: false)
        }
        if step % config.alphaEvery == 0 { emitAlphas() }
        if stepInEpoch == stepsPerEpoch { finishEpoch() }
    }

    /// The architecture half of a step: ∇α L_val (first- or second-order)
    /// and the Adam update of α, which is skipped when the loss or the
    /// gradient is not finite.
    func architectureStep(train: Batch, valid: Batch, learningRate: Double, plan: StepPlan) -> ArchitectureGradient {
        let arch = config.order == .second
            ? unrolledArchitectureGradient(train: train, valid: valid, learningRate: learningRate, dropPath: plan.dropPathProbability)
            : firstOrderArchitectureGradient(valid: valid, dropPath: plan.dropPathProbability)
        guard arch.isFinite else { return arch }
        var gradients = arch.gradients
        for remedy in remedies { remedy.adjustArchitectureGradient(&gradients, engine: self) }
        archOptimizer.step(&supernet.parameters.alphas, gradients: gradients, learningRate: config.archLearningRate,
                           beta1: config.archBeta1, beta2: config.archBeta2, weightDecay: config.archWeightDecay)
        state.adamSteps = archOptimizer.stepCount
        return arch
    }

    struct WeightStepResult {
        var loss: Double
        var accuracy: Double
        var clip: (norm: Double, factor: Double)
        /// Λ_l of every cell on the training batch.
        var layerGradients: [Tensor<Float>]
        /// What the remedies' gradient terms report (Λ-DARTS's health).
        var remedyReports: [TelemetryEvent.Payload]
    }

    /// The weight half of a step: ∇w L_train plus the remedies' gradient
    /// terms (Λ-DARTS while λ > 0), global-norm clipping and the SGD update.
    /// The update is skipped when the loss or the gradient norm is not finite.
    func weightStep(train: Batch, learningRate: Double, plan: StepPlan) -> WeightStepResult {
        let patterns = remedies.contains { $0.recordsActivationPatterns(engine: self) } ? ActivationPatterns() : nil
        // α as the weight step sees it: the search's own, unless a remedy perturbs it for this step.
        let searchAlphas = supernet.parameters.alphas
        var stepAlphas = searchAlphas
        var perturbed = false
        for remedy in remedies where remedy.perturbWeightStepAlphas(&stepAlphas, engine: self) { perturbed = true }
        if perturbed { supernet.parameters.alphas = stepAlphas }
        defer { if perturbed { supernet.parameters.alphas = searchAlphas } }
        let generatorBeforeWeightStep = generator
        let tape = Tape<Float>(patternMode: patterns.map(PatternMode.record) ?? .free)
        // α needs no gradient here, but the cells' Λ_l (for the train
        // alignment) do: they cost one dot product per mixed-op term.
        let pass = supernet.forward(train.images, on: tape, batchNormMode: .training, fixedMixingWeights: fixedMixingWeights,
                                    dropPathProbability: plan.dropPathProbability, generator: &generator)
        let loss = pass.logits.crossEntropy(labels: train.labels)
        tape.backward(from: loss)
        var gradients = pass.weights.compactMapValues(\.grad)
        let layerGradients = layerGradients(pass)
        let trainLoss = Double(loss.value.scalars[0])
        let context = WeightStepContext(images: train.images, labels: train.labels, layerGradients: layerGradients, patterns: patterns,
                                        plan: plan, generator: generatorBeforeWeightStep)
        let terms = remedies.compactMap { $0.adjustWeightGradient(&gradients, step: context, engine: self) }
        let clip = clipGlobalNorm(&gradients, maxNorm: config.gradientClip)
        if trainLoss.isFinite && clip.norm.isFinite {
            weightOptimizer.step(&supernet.parameters.weights, gradients: gradients, learningRate: learningRate,
                                 momentum: config.momentum, weightDecay: config.weightDecay)
        }
        return WeightStepResult(loss: trainLoss, accuracy: pass.logits.value.accuracy(labels: train.labels),
                                clip: clip, layerGradients: layerGradients, remedyReports: terms.map { $0.event(clip.factor) })
    }

    /// Per-step diagnostics too bulky to carry in every snapshot.
    /// (The `run` description is rebuilt from the engine, not remembered.)
    static let unrememberedTypes: Set<String> = [AlignmentMetrics.type, LambdaHealth.type, RunDescription.type]

    /// Keeps the newest ``historyLimit`` step events and the newest
    /// ``otherHistoryLimit`` of the rest (epoch ends, α, eigenvalues,
    /// commands), so a manifest — rewritten at every epoch end — stays a few
    /// megabytes however long the run (SearchState's `history`).
    private func remember(_ event: TelemetryEvent) {
        guard !Self.unrememberedTypes.contains(event.type) else { return }
        state.history.append(event)
        let isStep = event.type == StepMetrics.type
        let kept = state.history.lazy.filter { ($0.type == StepMetrics.type) == isStep }.count
        if kept > (isStep ? Self.historyLimit : Self.otherHistoryLimit),
           let oldest = state.history.firstIndex(where: { ($0.type == StepMetrics.type) == isStep }) {
            state.history.remove(at: oldest)
        }
    }

    struct ArchitectureGradient {
        var gradients: [String: Tensor<Float>]
        var loss: Double
        var accuracy: Double
        /// Λ_l of every cell on the validation batch.
        var layerGradients: [Tensor<Float>]

        var isFinite: Bool { loss.isFinite && gradients.values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) } }
    }

    func layerGradients(_ pass: ForwardPass<Float>) -> [Tensor<Float>] {
        pass.cellMixingWeights.map { $0.grad ?? Tensor(zeros: $0.shape) }
    }

    /// The `alignment` event: cosine matrices of Λ between cells of each type
    /// on the weight step (train) and the architecture step (valid), their
    /// pair means, and each cell's contribution to the α-gradient (valid).
    func emitAlignment(train: [Tensor<Float>], valid: [Tensor<Float>]) {
        let groups = supernet.cellsByType
        let trainAlignment = LayerAlignment(layerGradients: train, cellsByType: groups)
        let validAlignment = LayerAlignment(layerGradients: valid, cellsByType: groups)
        let types = supernet.cellTypeNames.enumerated().map { t, name in
            AlignmentMetrics.CellType(name: name, trainCosine: trainAlignment.cosines[t], validCosine: validAlignment.cosines[t],
                                      trainCorrelation: trainAlignment.meanPairCosine(type: t),
                                      validCorrelation: validAlignment.meanPairCosine(type: t))
        }
        emit(.alignment(AlignmentMetrics(cellTypes: types, layerAlphaGradients: valid.indices.map {
            supernet.alphaGradientContribution(ofCell: $0, layerGradient: valid[$0])
        })))
    }

    /// ∇α L_val(w, α) on the validation batch (no weight-gradient work).
    func firstOrderArchitectureGradient(valid: (images: Tensor<Float>, labels: [Int]), dropPath: Double) -> ArchitectureGradient {
        let tape = Tape<Float>()
        let pass = supernet.forward(valid.images, on: tape, batchNormMode: .training, weightsRequireGradient: false,
                                    dropPathProbability: dropPath, generator: &generator)
        let loss = pass.logits.crossEntropy(labels: valid.labels)
        tape.backward(from: loss)
        return ArchitectureGradient(gradients: alphaGradients(pass), loss: Double(loss.value.scalars[0]),
                                    accuracy: pass.logits.value.accuracy(labels: valid.labels), layerGradients: layerGradients(pass))
    }

    func alphaGradients(_ pass: ForwardPass<Float>) -> [String: Tensor<Float>] {
        var result: [String: Tensor<Float>] = [:]
        for (index, name) in supernet.parameters.alphaNames.enumerated() {
            result[name] = pass.alphas[index].grad ?? Tensor(zeros: pass.alphas[index].shape)
        }
        return result
    }

    public func emitAlphas() {
        let weights = supernet.typeMixingWeights()
        let genotype = Genotype(space: supernet.space, mixing: weights)
        let marks = genotype.marks(in: supernet.space)
        var metrics = AlphaMetrics(cellTypes: supernet.cellTypeNames.enumerated().map { index, name in
            AlphaMetrics.CellType(name: name, softmax: weights[index], genotypeMarks: marks[index])
        }, genotype: genotype.named)
        if let layers = supernet.layerGenotypes() {
            let space = supernet.space
            metrics.layers = zip(supernet.mixingWeights(), layers).enumerated().map { cell, entry in
                let operations = space.operations(reduction: supernet.isReduction(cell: cell))
                return AlphaMetrics.Layer(softmax: entry.0,
                                          genotypeMarks: Genotype.marks(of: entry.1, operations: operations, topology: space.topology),
                                          parameterFreeCount: entry.1.filter { $0.operation.isParameterFree }.count)
            }
        }
        emit(.alphas(metrics))
    }

    /// Epoch end: evaluation on the whole validation split, genotype, α.
    func finishEpoch() {
        let evaluation = evaluate(indices: validationIndices)
        // Evaluation uses the BN running statistics the steps never read.
        guard requireFinite(evaluation.loss, "the epoch-end validation loss") else { return }
        let genotype = supernet.genotype()
        var end = EpochEnd(epoch: epoch, genotype: genotype)
        for remedy in remedies { remedy.epochEnding(&end, engine: self) }
        guard divergence == nil else { return }  // a remedy's measurement (λmax) was not finite
        var metrics = EpochMetrics(
            trainLoss: state.epochTotals.meanLoss, trainAccuracy: state.epochTotals.meanAccuracy,
            validLoss: evaluation.loss, validAccuracy: evaluation.accuracy,
            genotype: genotype.description, skipCount: genotype.normalSkipCount, learningRate: learningRate)
        metrics.parameterFreeCount = genotype.normalParameterFreeCount
        metrics.normalEdgeCount = genotype.normal.count
        if config.discretisationGap {
            // The same weights with the derived genotype's one-hot mixing
            // weights: how much accuracy the discretisation step costs.
            let discrete = evaluateDiscrete()
            guard requireFinite(discrete.loss, "the discrete network's validation loss") else { return }
            metrics.discreteValidAccuracy = discrete.accuracy
            metrics.discreteValidLoss = discrete.loss
            metrics.discretisationGap = evaluation.accuracy - discrete.accuracy
        }
        if let standing = tabularStanding() {
            metrics.architecture = standing.architecture
            if let accuracy = standing.accuracy {
                metrics.tabularAccuracy = accuracy
                metrics.regret = standing.best.validAccuracy - accuracy
            }
        }
        emit(.epoch(metrics))
        emitAlphas()
        state.epochTotals = EpochTotals()
        epoch += 1
        stepInEpoch = 0
        writeEpochSnapshot()
        for remedy in remedies { remedy.epochEnded(end, engine: self) }
    }

    /// Mean loss and accuracy over `indices` with BN in evaluation mode,
    /// no augmentation, no gradients.
    public func evaluate(indices: [Int], fixedMixingWeights: [Tensor<Float>]? = nil) -> (loss: Double, accuracy: Double) {
        var totals = EpochTotals()
        var noise = generator  // S4 noise for evaluation must not shift the run's stream
        for start in stride(from: 0, to: indices.count, by: config.batchSize) {
            let batch = Array(indices[start..<min(start + config.batchSize, indices.count)])
            let data = pipeline.batch(batch, augment: false, generator: &noise)
            let tape = Tape<Float>()
            let pass = supernet.forward(data.images, on: tape, batchNormMode: .evaluation, weightsRequireGradient: false,
                                        alphasRequireGradient: false, fixedMixingWeights: fixedMixingWeights, generator: &noise)
            let loss = pass.logits.crossEntropy(labels: data.labels)
            totals.add(loss: Double(loss.value.scalars[0]), accuracy: pass.logits.value.accuracy(labels: data.labels), count: batch.count)
        }
        return (totals.meanLoss, totals.meanAccuracy)
    }
}

/// Sample-weighted running means of loss and accuracy.
struct EpochTotals: Codable, Equatable {
    var lossSum = 0.0, accuracySum = 0.0, count = 0

    mutating func add(loss: Double, accuracy: Double, count: Int) {
        lossSum += loss * Double(count)
        accuracySum += accuracy * Double(count)
        self.count += count
    }

    var meanLoss: Double { count == 0 ? .nan : lossSum / Double(count) }
    var meanAccuracy: Double { count == 0 ? .nan : accuracySum / Double(count) }
}
