/// Anything that changes a search step to fight performance collapse
/// (DESIGN §8): a weight-step gradient term (Λ-DARTS), a perturbation of the
/// data (cutout) or of the network (drop-path), a policy at epoch ends
/// (DARTS-ES, DARTS-ADA).
///
/// A remedy is one file: a type conforming to this protocol, listed in
/// ``Remedies/all``, that declares its parameters once — they reach config
/// files, `--set`, the dashboard's `:set`, completion, the parameters panel
/// and the generated configuration reference from there — gives them typed
/// accessors in an extension of ``SearchConfig``, keeps any state of its own
/// in ``SearchState/remedyStates`` (so snapshots carry it) and implements the
/// hooks it needs. Every hook has a default that leaves the step unchanged.
/// Remedies are stateless values; the engine is passed to each hook, since a
/// policy may measure (the α-Hessian), emit telemetry or apply commands.
public protocol Remedy: Sendable {
    /// The remedy's name in state, telemetry and documentation.
    static var name: String { get }
    /// One line for the configuration reference.
    static var summary: String { get }
    static var parameters: [ParameterSpec] { get }

    init()

    /// Before a step's batches are drawn: what the step perturbs, and how strongly.
    func schedule(_ plan: inout StepPlan, engine: SearchEngine)

    /// Changes the α-gradient before Adam's update (an architecture-step
    /// modifier).
    func adjustArchitectureGradient(_ gradients: inout [String: Tensor<Float>], engine: SearchEngine)

    /// Perturbs the α the weight step mixes with (SDARTS-RS's random
    /// smoothing); the search's own α is restored after the step. Returns
    /// whether it changed anything.
    func perturbWeightStepAlphas(_ alphas: inout [String: Tensor<Float>], engine: SearchEngine) -> Bool

    /// Whether the weight step's base pass must record its activation pattern
    /// (ReLU masks, max-pool choices) for the remedy to replay.
    func recordsActivationPatterns(engine: SearchEngine) -> Bool

    /// Adds a term to the weight gradient, before clipping. Returns what to
    /// report once the clip factor is known, or nil when it did nothing.
    func adjustWeightGradient(_ gradients: inout [String: Tensor<Float>], step: WeightStepContext, engine: SearchEngine) -> WeightTermReport?

    /// An epoch ends: evaluation is done, its snapshot is not yet written.
    func epochEnding(_ end: inout EpochEnd, engine: SearchEngine)

    /// The epoch's snapshot is written (a roll-back target for the policy).
    func epochEnded(_ end: EpochEnd, engine: SearchEngine)

    /// How many of the newest epoch snapshots the remedy may roll back to:
    /// the engine writes and keeps at least that many, whatever
    /// `snapshot.keep` says.
    func epochSnapshotsNeeded(engine: SearchEngine) -> Int
}

extension Remedy {
    public func schedule(_ plan: inout StepPlan, engine: SearchEngine) {}
    public func adjustArchitectureGradient(_ gradients: inout [String: Tensor<Float>], engine: SearchEngine) {}
    public func perturbWeightStepAlphas(_ alphas: inout [String: Tensor<Float>], engine: SearchEngine) -> Bool { false }
    public func recordsActivationPatterns(engine: SearchEngine) -> Bool { false }
    public func adjustWeightGradient(_ gradients: inout [String: Tensor<Float>], step: WeightStepContext, engine: SearchEngine) -> WeightTermReport? { nil }
    public func epochEnding(_ end: inout EpochEnd, engine: SearchEngine) {}
    public func epochEnded(_ end: EpochEnd, engine: SearchEngine) {}
    public func epochSnapshotsNeeded(engine: SearchEngine) -> Int { 0 }
}

/// What a step perturbs, set by the remedies' ``Remedy/schedule(_:engine:)``.
public struct StepPlan: Sendable {
    /// Probability of dropping each mixed-edge output per sample.
    public var dropPathProbability = 0.0
    /// Probability of a cutout hole in each augmented image.
    public var cutoutProbability = 0.0
    /// β of DARTS−'s auxiliary skip connection on every stride-1 mixed edge.
    public var auxiliarySkipWeight = 0.0
}

/// The weight step as a remedy's gradient term sees it.
public struct WeightStepContext {
    public var images: Tensor<Float>
    public var labels: [Int]
    /// Λ_l of every cell on this batch, from the base pass.
    public var layerGradients: [Tensor<Float>]
    /// The base pass's activation pattern, when a remedy asked for it.
    public var patterns: ActivationPatterns?
    public var plan: StepPlan
    /// The generator as the base pass found it, so extra passes see the same noise and masks.
    public var generator: RandomGenerator
}

/// A gradient term's metrics, completed with the clip factor of the whole gradient.
public struct WeightTermReport {
    public var event: (_ clipFactor: Double) -> TelemetryEvent.Payload
}

/// One epoch end, shared by the remedies' two epoch hooks.
public struct EpochEnd {
    /// The epoch that ended (0-based).
    public let epoch: Int
    public let genotype: Genotype
    /// What a remedy decided in ``Remedy/epochEnding(_:engine:)`` and acts
    /// on in ``Remedy/epochEnded(_:engine:)``, by remedy name. Not part of
    /// the run's state: the decision is taken and acted on in one epoch end.
    public var decisions: [String: any Sendable] = [:]
}

/// The remedies the engine knows, in the order their hooks run.
public enum Remedies {
    public static let all: [any Remedy.Type] = [LambdaDarts.self, DropPath.self, Cutout.self, RandomSmoothing.self, AuxiliarySkip.self,
                                               GradientNoise.self, EarlyStoppingPolicy.self]

    /// Every remedy's parameters.
    static let parameters: [ParameterSpec] = all.flatMap { $0.parameters }

    /// One instance of each, for an engine.
    static func instantiate() -> [any Remedy] { all.map { $0.init() } }
}

extension SearchState {
    /// A remedy's own state (nil before it first stored one).
    public func remedyState<State: Codable>(_ type: State.Type, of remedy: any Remedy.Type) -> State? {
        guard let value = remedyStates[remedy.name] else { return nil }
        return try? value.decoded(as: State.self)
    }

    public mutating func setRemedyState(_ value: some Codable, of remedy: any Remedy.Type) {
        remedyStates[remedy.name] = try? JSONValue(encoding: value)
    }
}

extension ParameterSpec {
    /// Builders for remedy parameters, so a remedy's table reads like the engine's.
    public static func flag(_ key: String, default value: Bool, _ doc: String, live: Bool = true) -> ParameterSpec {
        ParameterSpec(remedyParameter: key, kind: .flag, default: .flag(value), isLive: live, documentation: doc)
    }

    public static func real(_ key: String, default value: Double, _ range: ClosedRange<Double>, _ doc: String, live: Bool = true) -> ParameterSpec {
        ParameterSpec(remedyParameter: key, kind: .real(range), default: .real(value), isLive: live, documentation: doc)
    }

    public static func integer(_ key: String, default value: Int, _ range: ClosedRange<Int>, _ doc: String, live: Bool = true) -> ParameterSpec {
        ParameterSpec(remedyParameter: key, kind: .integer(range), default: .integer(value), isLive: live, documentation: doc)
    }

    public static func choice<Option: RawRepresentable<String> & CaseIterable>(_ key: String, default value: Option, _ doc: String,
                                                                              live: Bool = true) -> ParameterSpec {
        ParameterSpec(remedyParameter: key, kind: .choice(Option.allCases.map(\.rawValue)), default: .text(value.rawValue),
                      isLive: live, documentation: doc)
    }
}

extension SearchConfig {
    // Typed access to remedy parameters, for the remedies' own accessors.
    func remedyFlag(_ key: String) -> Bool { self[remedy: key].flagValue! }
    func remedyReal(_ key: String) -> Double { self[remedy: key].realValue! }
    func remedyInteger(_ key: String) -> Int {
        guard case .integer(let value) = self[remedy: key] else { preconditionFailure("\(key) is not an integer") }
        return value
    }
    func remedyChoice<Option: RawRepresentable<String>>(_ key: String) -> Option { Option(rawValue: self[remedy: key].textValue!)! }
}
