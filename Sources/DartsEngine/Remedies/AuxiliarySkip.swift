/// DARTS− (Chu et al., ICLR 2021): an auxiliary skip connection β·x beside
/// every mixed edge, with β decaying linearly to 0 at the last epoch. The skip
/// candidate no longer has to carry the residual path that makes deep
/// supernets trainable, so its α stops profiting from that "unfair
/// advantage"; by the end the supernet is DARTS's again, so nothing is left
/// to remove before deriving the genotype.
///
/// The auxiliary path lives in the supernet (``Supernet/auxiliarySkipWeight``):
/// every pass that mixes with softmax(α) takes it — weight and architecture
/// steps, evaluation, the α-Hessian — and a discrete network does not. Only
/// stride-1 edges get it; a reduction edge would need a strided, learned skip
/// that the searched network does not have.
public struct AuxiliarySkip: Remedy {
    public static let name = "darts_minus"
    public static let summary = "DARTS−: an auxiliary skip β·x on every stride-1 mixed edge, β decaying linearly to 0 at the last epoch."
    public static let parameters: [ParameterSpec] = [
        .real("reg.aux_skip_beta", default: 0, 0...10, "DARTS− auxiliary skip weight β at the first epoch, decaying linearly to 0 at the last; 0 = off."),
    ]

    public init() {}

    public func schedule(_ plan: inout StepPlan, engine: SearchEngine) {
        let initial = engine.config.auxiliarySkipBeta
        plan.auxiliarySkipWeight = initial - engine.ramped(initial)
    }
}

extension SearchConfig {
    /// DARTS− β at the first epoch (decays linearly to 0 at the last); 0 = off.
    public var auxiliarySkipBeta: Double {
        get { remedyReal("reg.aux_skip_beta") }
        set { self[remedy: "reg.aux_skip_beta"] = .real(newValue) }
    }
}
