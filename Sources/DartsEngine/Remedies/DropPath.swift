/// ScheduledDropPath (R-DARTS): each mixed-edge output is dropped per sample
/// with a probability ramped linearly over the epochs, and the rest rescaled
/// by 1/keep. The masks are drawn in the supernet's forward pass.
public struct DropPath: Remedy {
    public static let name = "drop_path"
    public static let summary = "ScheduledDropPath: drop mixed-edge outputs per sample, probability ramped over the epochs."
    public static let parameters: [ParameterSpec] = [
        .real("reg.drop_path_prob", default: 0, 0...0.9, "ScheduledDropPath probability at the last epoch, ramped linearly from 0."),
    ]

    public init() {}

    public func schedule(_ plan: inout StepPlan, engine: SearchEngine) {
        plan.dropPathProbability = engine.ramped(engine.config.dropPathProbability)
    }
}

extension SearchConfig {
    /// ScheduledDropPath probability reached at the last epoch (ramped linearly from 0).
    public var dropPathProbability: Double {
        get { remedyReal("reg.drop_path_prob") }
        set { self[remedy: "reg.drop_path_prob"] = .real(newValue) }
    }
}
