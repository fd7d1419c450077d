import Foundation

/// A supernet size the search-step benchmark measures (issue 6's `demo` and
/// `paper` configurations). The PyTorch harness in `Benchmarks/` builds the
/// same networks from the same names.
public struct BenchmarkNetwork: Sendable {
    public var name: String
    public var space: String
    public var inputChannels: Int
    public var imageSize: Int
    public var initialChannels: Int
    public var layers: Int
    public var batchSize: Int

    public static let all = [
        BenchmarkNetwork(name: "demo-darts", space: "darts", inputChannels: 1, imageSize: 28, initialChannels: 8, layers: 5, batchSize: 32),
        BenchmarkNetwork(name: "demo-s3", space: "s3", inputChannels: 1, imageSize: 28, initialChannels: 8, layers: 5, batchSize: 32),
        BenchmarkNetwork(name: "paper-darts", space: "darts", inputChannels: 3, imageSize: 32, initialChannels: 16, layers: 8, batchSize: 64),
    ]

    public static func named(_ name: String) -> BenchmarkNetwork? { all.first { $0.name == name } }
}

/// The pieces of a search step, each timed on its own.
public enum SearchPhase: String, CaseIterable, Codable, Sendable {
    case forward = "forward"
    case weightStep = "weight step"
    case architectureStep = "arch step"
    case lambdaStep = "Λ weight step"
    case hessianVectorProduct = "one HVP"
    case dominantEigenvalue = "eigenvalue"
    case secondOrderStep = "2nd-order arch step"
}

/// Times the phases of a DARTS search step on one benchmark network, through
/// the same engine functions a search runs (`SearchEngine.weightStep`,
/// `.architectureStep`, `HessianVectorProducts`), on fixed synthetic batches.
public enum SearchStepBenchmark {
    public struct PhaseResult: Codable, Sendable {
        public var phase: SearchPhase
        public var timing: TimingSummary
        /// Convolution FLOPs of one run of the phase (forward and backward).
        public var flops: Double
        public var gigaflopsPerSecond: Double { flops / timing.median / 1e9 }
        /// Hessian-vector products per run (eigenvalue phase).
        public var hessianVectorProducts: Int?
        /// The estimate itself (eigenvalue phase), to set beside PyTorch's on
        /// the same instance.
        public var eigenvalue: Double?
        /// Share of the phase's profiled time per op kind, plus "other"
        /// (optimiser, clipping, glue outside the tape).
        public var breakdown: [String: Double]

        enum CodingKeys: String, CodingKey {
            case phase, timing, flops, hessianVectorProducts = "hvps", eigenvalue, breakdown
            case gigaflopsPerSecond = "gflops_per_second", medianSeconds = "median_seconds", spreadSeconds = "spread_seconds"
        }

        public init(phase: SearchPhase, timing: TimingSummary, flops: Double, hessianVectorProducts: Int?, eigenvalue: Double?,
                    breakdown: [String: Double]) {
            self.phase = phase; self.timing = timing; self.flops = flops
            self.hessianVectorProducts = hessianVectorProducts; self.eigenvalue = eigenvalue; self.breakdown = breakdown
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            phase = try c.decode(SearchPhase.self, forKey: .phase)
            timing = try c.decode(TimingSummary.self, forKey: .timing)
            flops = try c.decode(Double.self, forKey: .flops)
            hessianVectorProducts = try c.decodeIfPresent(Int.self, forKey: .hessianVectorProducts)
            eigenvalue = try c.decodeIfPresent(Double.self, forKey: .eigenvalue)
            breakdown = try c.decode([String: Double].self, forKey: .breakdown)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(phase, forKey: .phase)
            try c.encode(timing, forKey: .timing)
            try c.encode(flops, forKey: .flops)
            try c.encode(gigaflopsPerSecond, forKey: .gigaflopsPerSecond)
            try c.encode(timing.median, forKey: .medianSeconds)
            try c.encode(timing.spread, forKey: .spreadSeconds)
            try c.encodeIfPresent(hessianVectorProducts, forKey: .hessianVectorProducts)
            try c.encodeIfPresent(eigenvalue, forKey: .eigenvalue)
            try c.encode(breakdown, forKey: .breakdown)
        }
    }

    public struct NetworkResult: Codable, Sendable {
        public var network: String
        public var threads: Int
        public var parameters: Int
        public var forwardFlopsPerSample: Double
        public var peakResidentMegabytes: Double
        /// The share of parallel chunks the helper threads ran (0.5 with two
        /// threads that both kept up; near 0 when the second core was busy elsewhere).
        public var helperChunkShare: Double
        public var phases: [PhaseResult]

        enum CodingKeys: String, CodingKey {
            case network, threads, parameters, phases
            case forwardFlopsPerSample = "forward_flops_per_sample", peakResidentMegabytes = "peak_rss_mb", helperChunkShare = "helper_chunk_share"
        }
    }

    /// Builds the engine for `network` (synthetic data of the right shape,
    /// the search defaults otherwise) and measures each phase: `warmup`
    /// untimed runs, `repetitions` timed ones, then one profiled run for the
    /// breakdown and the FLOP count.
    public static func run(
        _ network: BenchmarkNetwork, phases: [SearchPhase] = SearchPhase.allCases,
        repetitions: Int = 10, warmup: Int = 2, threads: Int = 1,
        progress: (String) -> Void = { _ in }
    ) throws -> NetworkResult {
        let (engine, train, valid) = try makeEngine(network, threads: threads)
        let config = engine.config
        let chunksBefore = Parallelism.chunkCounts
        let learningRate = config.learningRate

        // The forward phase as a step runs it: training mode, with the loss.
        let forwardPass = {
            let tape = Tape<Float>()
            let pass = engine.supernet.forward(train.images, on: tape, batchNormMode: .training, generator: &engine.generator)
            _ = pass.logits.crossEntropy(labels: train.labels)
        }
        var results: [PhaseResult] = []
        var forwardFlops = 0.0
        for phase in phases {
            progress("\(network.name): \(phase.rawValue)")
            var hessianVectorProducts: Int?, eigenvalue: Double?
            let body: () -> Void
            switch phase {
            case .forward:
                body = forwardPass
            case .weightStep, .lambdaStep:
                engine.config.lambdaEnabled = phase == .lambdaStep
                engine.config.lambdaRamp = false
                engine.config.lambdaVariant = .corr
                body = { _ = engine.weightStep(train: train, learningRate: learningRate, plan: StepPlan()) }
            case .architectureStep, .secondOrderStep:
                engine.config.order = phase == .secondOrderStep ? .second : .first
                body = { _ = engine.architectureStep(train: train, valid: valid, learningRate: learningRate, plan: StepPlan()) }
            case .hessianVectorProduct:
                var products = engine.curvatureProducts(on: valid, noise: engine.generator)
                var generator = RandomGenerator(seed: 3)
                let direction = products.gradient.map { Initialiser.normal(shape: $0.shape, standardDeviation: 1, generator: &generator) as Tensor<Float> }
                body = { _ = products.product(direction) }
            case .dominantEigenvalue:
                body = {
                    var products = engine.curvatureProducts(on: valid, noise: engine.generator)
                    eigenvalue = products.dominantEigenvalue(tolerance: config.hessianTolerance, maxIterations: config.hessianMaxIterations).value
                    hessianVectorProducts = products.count
                }
            }
            let timing = TimingSummary.measure(warmup: warmup, repetitions: repetitions, body)
            let profile = OpProfile()
            let start = DispatchTime.now().uptimeNanoseconds
            profile.measure(body)
            let profiledSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var breakdown: [String: Double] = [:]
            for kind in OpKind.allCases where profile.seconds(of: kind) > 0 {
                breakdown[kind.rawValue] = profile.seconds(of: kind) / profiledSeconds
            }
            breakdown["other"] = max(0, 1 - profile.totalSeconds / profiledSeconds)
            if phase == .forward { forwardFlops = profile.flops }
            results.append(PhaseResult(phase: phase, timing: timing, flops: profile.flops,
                                       hessianVectorProducts: hessianVectorProducts, eigenvalue: eigenvalue, breakdown: breakdown))
        }
        if !phases.contains(.forward) {
            // The FLOP count is the network's, whichever phases were timed:
            // one profiled forward pass gives it.
            let profile = OpProfile()
            profile.measure(forwardPass)
            forwardFlops = profile.flops
        }
        return NetworkResult(network: network.name, threads: threads, parameters: engine.supernet.parameters.weightCount,
                             forwardFlopsPerSample: forwardFlops / Double(network.batchSize),
                             peakResidentMegabytes: peakResidentMegabytes(),
                             helperChunkShare: Double(Parallelism.chunkCounts.byHelpers - chunksBefore.byHelpers)
                                 / Double(max(1, Parallelism.chunkCounts.all - chunksBefore.all)),
                             phases: results)
    }

    /// An engine for `network` (search defaults, seed 1, synthetic data of
    /// the network's input shape) and one fixed train and validation batch.
    static func makeEngine(_ network: BenchmarkNetwork, threads: Int) throws -> (SearchEngine, SearchEngine.Batch, SearchEngine.Batch) {
        var config = SearchConfig()
        config.space = network.space
        config.initialChannels = network.initialChannels
        config.layers = network.layers
        config.batchSize = network.batchSize
        config.threads = threads
        config.seed = 1
        let dataset = Dataset.synthetic(count: 4 * network.batchSize, classes: 10, channels: network.inputChannels,
                                        size: network.imageSize, seed: 1)
        setThreadCount(threads)
        let engine = try SearchEngine(config: config, dataset: dataset)
        let train = engine.pipeline.batch(engine.state.trainSampler.nextBatch(size: network.batchSize), augment: false, generator: &engine.generator)
        let valid = engine.pipeline.batch(engine.state.validSampler.nextBatch(size: network.batchSize), augment: false, generator: &engine.generator)
        return (engine, train, valid)
    }

    /// Writes what the PyTorch harness needs to check that both compute the
    /// same thing, and to time the same problem: `NAME.model.safetensors`
    /// (exactly a snapshot's model file) and `NAME.check.safetensors` with the
    /// benchmark's training batch (`input`, `labels`), the loss on it in
    /// training mode (`loss`), the gradient of every weight and α
    /// (`grad.NAME`), the validation batch (`valid_input`, `valid_labels`)
    /// and the vector the eigenvalue phase's Lanczos starts from
    /// (`lanczos_start`). Loss and gradients come from the same generic
    /// supernet code in Double, on the float32 values exactly, so the
    /// comparison with PyTorch's float64 is not drowned in float32 rounding.
    ///
    /// Why the harness times this very instance: how many Hessian-vector
    /// products Lanczos needs depends on the Hessian and the start vector, so
    /// eigenvalue timings of two different random networks compare luck, not
    /// implementations.
    public static func writeEquivalenceCheck(_ network: BenchmarkNetwork, to directory: String) throws {
        let (engine, train, valid) = try makeEngine(network, threads: 1)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let model = SafeTensors.encode(engine.modelEntries(), metadata: ["format": "pt", "producer": "dartscope"])
        var initialisation = RandomGenerator(seed: 0)
        let exact = Supernet<Double>(space: engine.supernet.space, shape: engine.supernet.shape, generator: &initialisation)
        let store = engine.supernet.parameters
        for (name, value) in store.weights { exact.parameters.weights[name] = Tensor(value) }
        for (name, value) in store.alphas { exact.parameters.alphas[name] = Tensor(value) }
        let tape = Tape<Double>()
        var noise = RandomGenerator(seed: 0)
        let pass = exact.forward(Tensor(train.images), on: tape, batchNormMode: .batchStatistics, generator: &noise)
        let loss = pass.logits.crossEntropy(labels: train.labels)
        tape.backward(from: loss)
        var entries: [SafeTensors.Entry] = [
            .init(name: "input", shape: train.images.shape, data: .float32(train.images.scalars)),
            .init(name: "labels", shape: [train.labels.count], data: .int64(train.labels.map(Int64.init))),
            .init(name: "loss", shape: [], data: .float64(loss.value.scalars)),
            .init(name: "valid_input", shape: valid.images.shape, data: .float32(valid.images.scalars)),
            .init(name: "valid_labels", shape: [valid.labels.count], data: .int64(valid.labels.map(Int64.init))),
            .init(name: "lanczos_start", shape: [store.alphaScalarCount], data: .float64(
                HessianVectorProducts<Float>.lanczosStart(dimension: store.alphaScalarCount))),
        ]
        for (name, gradient) in pass.weights.compactMapValues(\.grad).sorted(by: { $0.key < $1.key }) {
            entries.append(.init(name: "grad." + name, shape: gradient.shape, data: .float64(gradient.scalars)))
        }
        for (index, name) in exact.parameters.alphaNames.enumerated() {
            let gradient = pass.alphas[index].grad ?? Tensor(zeros: pass.alphas[index].shape)
            entries.append(.init(name: "grad." + name, shape: gradient.shape, data: .float64(gradient.scalars)))
        }
        try model.write(to: URL(fileURLWithPath: directory + "/\(network.name).model.safetensors"))
        try SafeTensors.encode(entries).write(to: URL(fileURLWithPath: directory + "/\(network.name).check.safetensors"))
    }

    /// The process's peak resident set size so far (getrusage).
    public static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
