/// The activation pattern of the piecewise-linear ops of one forward pass:
/// which ReLU inputs were positive and which element each max-pool window
/// picked, in the order the ops ran.
///
/// Why: a network of ReLUs and max-pools is piecewise linear in its
/// activations, so the exact Hessian (what double backward computes, with
/// ReLU'' = 0) treats the pattern as fixed. A central difference of gradients
/// whose ± passes *recompute* the pattern crosses kinks and can be off by
/// orders of magnitude; one whose ± passes *replay* the base pass's pattern is
/// exact up to O(h²). The Hessian-vector products and the `frozen` Λ-DARTS
/// mode rely on this.
public final class ActivationPatterns {
    enum Entry {
        /// 1 where the ReLU input was positive, else 0 (a multiplier, so replay is branch-free).
        case reluMask([Float])
        case poolArgmax([Int32])
    }

    private(set) var entries: [Entry] = []
    private var replayCursor = 0

    public init() {}

    /// The number of recorded ops.
    public var count: Int { entries.count }

    func append(_ entry: Entry) { entries.append(entry) }

    /// Starts replaying from the first recorded op (a pattern can be replayed
    /// by any number of passes; a new replaying tape rewinds it itself).
    public func rewind() { replayCursor = 0 }

    func nextReluMask(count: Int, op: String) -> [Float] {
        guard replayCursor < entries.count, case .reluMask(let mask) = entries[replayCursor] else {
            fatalError("\(op): pattern replay expected a ReLU mask at position \(replayCursor); the replaying pass runs different ops than the recorded one")
        }
        require(mask.count == count, "\(op): pattern replay mask has \(mask.count) entries, input has \(count)")
        replayCursor += 1
        return mask
    }

    func nextPoolArgmax(count: Int, op: String) -> [Int32] {
        guard replayCursor < entries.count, case .poolArgmax(let argmax) = entries[replayCursor] else {
            fatalError("\(op): pattern replay expected a max-pool argmax at position \(replayCursor); the replaying pass runs different ops than the recorded one")
        }
        require(argmax.count == count, "\(op): pattern replay argmax has \(argmax.count) entries, output has \(count)")
        replayCursor += 1
        return argmax
    }
}

/// What the piecewise-linear ops of a tape do with activation patterns.
public enum PatternMode {
    /// Compute the pattern from the input; remember nothing.
    case free
    /// Compute the pattern and append it to the given store.
    case record(ActivationPatterns)
    /// Use the stored pattern instead of looking at the input.
    case replay(ActivationPatterns)
}
