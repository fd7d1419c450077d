import Foundation

/// DARTS-ES and DARTS-ADA (Zela et al., ICLR 2020; DESIGN §5): at eigenvalue
/// epochs the dominant eigenvalue of the α-Hessian is recorded and the
/// R-DARTS rule (``EarlyStopping``) compares local averages; a trigger is
/// marked, ends the search (the genotype of the stop epoch is the result), or
/// rolls back to the stop epoch's snapshot with a larger weight decay.
public struct EarlyStoppingPolicy: Remedy {
    public static let name = "es"
    public static let summary = "DARTS-ES / DARTS-ADA: watch the dominant Hessian eigenvalue; on a rise, notify, stop, or roll back and raise the weight decay."
    public static let parameters: [ParameterSpec] = [
        .integer("es.window", default: 5, 1...100, "DARTS-ES: eigenvalues per local average."),
        .integer("es.start_epoch", default: 10, 0...10_000, "DARTS-ES: earliest comparison epoch."),
        .integer("es.delta", default: 4, 1...100, "DARTS-ES: compare with the local average this many eigenvalue epochs back."),
        .real("es.factor", default: 1.3, 1...100, "DARTS-ES: trigger when the local average grew by more than this factor."),
        .integer("es.frequency", default: 1, 1...1000, "DARTS-ES: epochs between eigenvalues."),
        .choice("es.action", default: EarlyStoppingAction.notify,
                "On a trigger: notify (mark, go on), stop (DARTS-ES), ada (DARTS-ADA: roll back, raise weight decay)."),
        .real("es.ada_multiplier", default: 3, 1...100, "DARTS-ADA: weight-decay multiplier per trigger."),
        .real("es.ada_max_weight_decay", default: 0.0243, 0...1, "DARTS-ADA: weight-decay cap; a trigger at the cap stops the search."),
    ]

    /// What the policy keeps in the run's state: the eigenvalue history and the latest trigger.
    public struct State: Codable, Sendable, Equatable {
        public var rule = EarlyStopping()
        public var verdict: EarlyStopping.Verdict?
        /// The epoch-snapshot number DARTS-ADA last rolled back to. A later
        /// trigger rolls back no further than this: the eigenvalues before it
        /// were measured under the old weight decay, and going earlier would
        /// need snapshots no bounded keep can promise (the ADA seed-3 run of
        /// experiments/remedies lost its target this way).
        public var rollbackFloor: Int?
    }

    public init() {}

    static func rule(_ config: SearchConfig) -> EarlyStopping.Parameters {
        var p = EarlyStopping.Parameters()
        p.window = config.esWindow
        p.startEpoch = config.esStartEpoch
        p.delta = config.esDelta
        p.factor = config.esFactor
        p.frequency = config.esFrequency
        return p
    }

    /// At an eigenvalue epoch: measure, record, apply the rule, report.
    public func epochEnding(_ end: inout EpochEnd, engine: SearchEngine) {
        let config = engine.config
        guard end.epoch % max(config.esFrequency, 1) == 0 else { return }
        let eigenvalue = engine.measureCurvature(atEpochEnd: true)
        guard engine.divergence == nil else { return }
        var state = engine.state.remedyState(State.self, of: Self.self) ?? State()
        state.rule.record(epoch: end.epoch, eigenvalue: eigenvalue, genotype: end.genotype.description)
        engine.state.setRemedyState(state, of: Self.self)
        let p = Self.rule(config)
        let rule = state.rule
        let verdict = end.epoch < config.epochs - 1 ? rule.verdict(p) : nil
        var report = EarlyStoppingReport(
            eigenvalue: eigenvalue, localAverage: rule.localAverages(p).last.flatMap { $0 },
            localAverageEpoch: rule.averageEpoch(at: rule.records.count - 1, p),
            threshold: rule.threshold(p), triggered: verdict != nil, action: config.esAction.rawValue)
        if let verdict {
            report.stopEpoch = verdict.stopEpoch
            report.stopGenotype = verdict.genotype
            report.ratio = verdict.currentAverage / verdict.previousAverage
        }
        engine.emit(.earlyStopping(report))
        end.decisions[Self.name] = verdict
    }

    /// After the epoch's snapshot: carry out the configured action.
    public func epochEnded(_ end: EpochEnd, engine: SearchEngine) {
        if let verdict = end.decisions[Self.name] as? EarlyStopping.Verdict { act(on: verdict, engine: engine) }
    }

    func act(on verdict: EarlyStopping.Verdict, engine: SearchEngine) {
        var state = engine.state.remedyState(State.self, of: Self.self) ?? State()
        state.verdict = verdict
        engine.state.setRemedyState(state, of: Self.self)
        let config = engine.config
        switch config.esAction {
        case .stop:
            engine.state.stoppedEarly = true
            engine.emit(.earlyStop(EarlyStop(stopEpoch: verdict.stopEpoch, genotype: verdict.genotype)))
        case .ada:
            let raised = min(config.weightDecay * config.adaMultiplier, config.adaMaxWeightDecay)
            guard raised > config.weightDecay else {
                engine.state.stoppedEarly = true
                engine.emit(.earlyStop(EarlyStop(stopEpoch: verdict.stopEpoch, genotype: verdict.genotype,
                                                 reason: "weight decay already at the DARTS-ADA cap \(formatReal(config.adaMaxWeightDecay))")))
                return
            }
            let target = max(verdict.stopEpoch + 1, state.rollbackFloor ?? 0)
            let name = String(format: "epoch-%04d", target)
            do {
                try engine.apply(.rollback(name: name))
                // The rollback restored the policy's state as it was then; the floor is news to it.
                var restored = engine.state.remedyState(State.self, of: Self.self) ?? State()
                restored.rollbackFloor = target
                engine.state.setRemedyState(restored, of: Self.self)
                try engine.apply(.set(key: "optim.weight_decay", value: .real(raised)))
                engine.emit(.adaptation(Adaptation(rolledBackTo: name, weightDecay: engine.config.weightDecay)))
            } catch {
                engine.state.stoppedEarly = true
                engine.emit(.error(ErrorReport(message: "DARTS-ADA could not roll back to \(name) (\(error)); stopping as DARTS-ES")))
            }
        case .notify:
            break
        }
    }

    /// DARTS-ADA rolls back to the stop epoch: frequency × (window / 2 +
    /// delta) epochs before the trigger, whose own snapshot is the newest.
    public func epochSnapshotsNeeded(engine: SearchEngine) -> Int {
        let config = engine.config
        return config.esAction == .ada ? config.esFrequency * (config.esWindow / 2 + config.esDelta) + 1 : 0
    }
}

/// What a DARTS-ES trigger does (DESIGN §5).
public enum EarlyStoppingAction: String, Codable, Sendable, CaseIterable {
    /// Mark the trigger and go on.
    case notify
    /// DARTS-ES: end the search; the genotype of the stop epoch is the result.
    case stop
    /// DARTS-ADA: roll back to the stop epoch and raise the weight decay.
    case ada
}

extension SearchEngine {
    /// The eigenvalue history DARTS-ES has recorded.
    public var earlyStopping: EarlyStopping {
        state.remedyState(EarlyStoppingPolicy.State.self, of: EarlyStoppingPolicy.self)?.rule ?? EarlyStopping()
    }

    /// The latest DARTS-ES trigger, if any.
    public var esVerdict: EarlyStopping.Verdict? {
        state.remedyState(EarlyStoppingPolicy.State.self, of: EarlyStoppingPolicy.self)?.verdict
    }

    /// Carries out the configured action for a DARTS-ES trigger.
    public func act(on verdict: EarlyStopping.Verdict) { EarlyStoppingPolicy().act(on: verdict, engine: self) }
}

extension SearchConfig {
    public var esWindow: Int {
        get { remedyInteger("es.window") }
        set { self[remedy: "es.window"] = .integer(newValue) }
    }
    public var esStartEpoch: Int {
        get { remedyInteger("es.start_epoch") }
        set { self[remedy: "es.start_epoch"] = .integer(newValue) }
    }
    public var esDelta: Int {
        get { remedyInteger("es.delta") }
        set { self[remedy: "es.delta"] = .integer(newValue) }
    }
    public var esFactor: Double {
        get { remedyReal("es.factor") }
        set { self[remedy: "es.factor"] = .real(newValue) }
    }
    /// Epochs between the eigenvalues the rule uses.
    public var esFrequency: Int {
        get { remedyInteger("es.frequency") }
        set { self[remedy: "es.frequency"] = .integer(newValue) }
    }
    public var esAction: EarlyStoppingAction {
        get { remedyChoice("es.action") }
        set { self[remedy: "es.action"] = .text(newValue.rawValue) }
    }
    /// DARTS-ADA multiplies the weight decay by this at each trigger ...
    public var adaMultiplier: Double {
        get { remedyReal("es.ada_multiplier") }
        set { self[remedy: "es.ada_multiplier"] = .real(newValue) }
    }
    /// ... up to this value; at the cap a trigger stops the search.
    public var adaMaxWeightDecay: Double {
        get { remedyReal("es.ada_max_weight_decay") }
        set { self[remedy: "es.ada_max_weight_decay"] = .real(newValue) }
    }
}
