/// The one divergence guard (issue 17): every non-finite number a search can
/// produce — a loss, a gradient, an updated weight or α, a batch-norm
/// statistic, an optimiser moment, an eigenvalue — ends the run here, with a
/// `diverged` event that names what went non-finite and where. After that the
/// run takes no step and writes no snapshot (its state is not worth resuming:
/// the last good snapshot is), and a headless run exits with
/// ``SearchEngine/divergedExitCode``.
extension SearchEngine {
    /// The exit status of a headless run that diverged (documented in docs/cli.md).
    public static let divergedExitCode: Int32 = 3

    /// Marks the run diverged; the first reason wins.
    func diverge(_ reason: String) {
        guard state.divergence == nil else { return }
        state.divergence = reason
        emit(.diverged(Divergence(reason: reason)))
    }

    /// Diverges when `value` is not finite; true when it is.
    @discardableResult
    func requireFinite(_ value: Double, _ what: @autoclosure () -> String) -> Bool {
        guard value.isFinite else {
            diverge("\(what()) is \(value.isNaN ? "NaN" : formatReal(value)) at step \(step)")
            return false
        }
        return true
    }

    /// Diverges when any tensor of the run's state is not finite; true when all are.
    @discardableResult
    func requireFiniteState(after what: @autoclosure () -> String) -> Bool {
        guard let name = firstNonFiniteTensor() else { return true }
        diverge("\(name) is not finite after \(what()) at step \(step)")
        return false
    }

    /// The name of the first tensor — weight, batch-norm buffer, α, momentum
    /// or Adam moment — holding a non-finite value, in snapshot order.
    /// A scan of every scalar: microseconds beside a step's milliseconds.
    func firstNonFiniteTensor() -> String? {
        let store = supernet.parameters
        for entry in store.entries {
            switch entry {
            case .weight(let name):
                if !store.weights[name]!.scalars.allSatisfy(\.isFinite) { return name }
            case .batchNorm(let prefix):
                let statistics = store.batchNorms[prefix]!
                if !statistics.runningMean.scalars.allSatisfy(\.isFinite) { return prefix + ".running_mean" }
                if !statistics.runningVariance.scalars.allSatisfy(\.isFinite) { return prefix + ".running_var" }
            }
        }
        for name in store.alphaNames where !store.alphas[name]!.scalars.allSatisfy(\.isFinite) { return name }
        for (name, buffer) in weightOptimizer.buffers.sorted(by: { $0.key < $1.key }) where !buffer.allSatisfy(\.isFinite) {
            return "momentum." + name
        }
        for (name, moment) in archOptimizer.firstMoments.sorted(by: { $0.key < $1.key }) where !moment.allSatisfy(\.isFinite) {
            return "adam.m." + name
        }
        for (name, moment) in archOptimizer.secondMoments.sorted(by: { $0.key < $1.key }) where !moment.allSatisfy(\.isFinite) {
            return "adam.v." + name
        }
        return nil
    }
}
