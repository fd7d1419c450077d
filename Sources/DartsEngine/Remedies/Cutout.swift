/// Cutout (DeVries & Taylor) as R-DARTS uses it against collapse: a square
/// hole in each augmented training and validation image, with a probability
/// ramped linearly over the epochs. The holes are cut by the batch pipeline.
public struct Cutout: Remedy {
    public static let name = "cutout"
    public static let summary = "Cutout: square holes in augmented images, probability ramped over the epochs."
    public static let parameters: [ParameterSpec] = [
        .integer("data.cutout_length", default: 0, 0...64, "Cutout hole size in pixels (0 = off).", live: false),
        .real("data.cutout_prob", default: 0, 0...1, "Cutout probability at the last epoch, ramped linearly from 0."),
    ]

    public init() {}

    public func schedule(_ plan: inout StepPlan, engine: SearchEngine) {
        plan.cutoutProbability = engine.ramped(engine.config.cutoutProbability)
    }
}

extension SearchConfig {
    /// Side of the square hole in pixels (0 = off); fixed for a run.
    public var cutoutLength: Int {
        get { remedyInteger("data.cutout_length") }
        set { self[remedy: "data.cutout_length"] = .integer(newValue) }
    }
    /// Cutout probability reached at the last epoch (ramped linearly from 0).
    public var cutoutProbability: Double {
        get { remedyReal("data.cutout_prob") }
        set { self[remedy: "data.cutout_prob"] = .real(newValue) }
    }
}
