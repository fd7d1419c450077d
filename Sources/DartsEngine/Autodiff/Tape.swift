import Foundation

/// Records the operations of one forward pass so that `backward(from:)` can
/// run them in reverse.
///
/// A tape is an ordinary object: there is no global graph, so two independent
/// passes (the ± passes of a finite difference, say) simply use two tapes, one
/// after the other. Nodes are appended in creation order, which is already a
/// topological order, so the backward pass is a single reverse sweep.
///
/// Ownership runs from outputs to inputs: a variable keeps its tape and (through
/// its backward closure) its inputs alive; the tape only observes its nodes.
/// A node nobody can reach any more cannot lie on a gradient path, so it is
/// simply skipped — and no reference cycle keeps a finished pass in memory.
public final class Tape<Scalar: TensorScalar> {
    private struct WeakNode {
        weak var variable: Variable<Scalar>?
    }

    /// Nodes that need a backward call, in creation order.
    private var nodes: [WeakNode] = []

    /// Whether piecewise-linear ops record their activation pattern, replay a
    /// recorded one, or neither (see ``ActivationPatterns``).
    public var patternMode: PatternMode

    /// Whether every ReLU and max-pool must be an op of its own, in order, so
    /// that a recorded pattern lines up with its replay: fused ops (a ReLU
    /// inside a convolution kernel) are only for tapes that do neither.
    var tracksActivationPatterns: Bool {
        if case .free = patternMode { return false }
        return true
    }

    /// Where op times go while a benchmark profiles (``OpProfile``); nil otherwise.
    let profile: OpProfile?

    /// A tape replaying a pattern starts from its first recorded op.
    public init(patternMode: PatternMode = .free) {
        self.patternMode = patternMode
        profile = OpProfile.current
        if case .replay(let patterns) = patternMode { patterns.rewind() }
    }

    /// A leaf: a value the graph starts from. Gradients reach it only when
    /// `requiresGrad` is true, and ops skip work for inputs that need none.
    public func variable(_ value: Tensor<Scalar>, requiresGrad: Bool = false) -> Variable<Scalar> {
        Variable(value: value, tape: self, requiresGrad: requiresGrad, backward: nil)
    }

    /// A constant (no gradient).
    public func constant(_ value: Tensor<Scalar>) -> Variable<Scalar> {
        variable(value, requiresGrad: false)
    }

    /// Records the result of an op. `backward` receives the gradient of the
    /// result and must accumulate the inputs' gradients (via
    /// ``Variable/accumulateGradient(_:)``) for the inputs that require one.
    /// The node needs a gradient only when one of its inputs does. `kind`
    /// says where a profile (``OpProfile``) books the op's time.
    public func record(
        _ value: Tensor<Scalar>,
        kind: OpKind,
        inputs: [Variable<Scalar>],
        backward: @escaping (Tensor<Scalar>) -> Void
    ) -> Variable<Scalar> {
        profile?.recordForward(kind)
        for input in inputs {
            require(input.tape === self, "autodiff: an op mixed variables from two tapes")
        }
        let needsGrad = inputs.contains { $0.requiresGrad }
        let node = Variable(
            value: value, tape: self, requiresGrad: needsGrad,
            backward: needsGrad ? backward : nil, kind: kind)
        if needsGrad { nodes.append(WeakNode(variable: node)) }
        return node
    }

    /// Back-propagates from `output` with the given seed gradient (ones for a
    /// scalar loss when omitted). Afterwards leaves, the output and variables
    /// marked with ``Variable/retainGradient()`` hold their gradients; other
    /// intermediates drop theirs, and each node releases its backward closure
    /// (and with it the activations it captured) as soon as it has run, so
    /// memory falls during the backward pass instead of peaking after it.
    /// A tape is back-propagated once.
    public func backward(from output: Variable<Scalar>, seed: Tensor<Scalar>? = nil) {
        require(output.tape === self, "backward: the output belongs to another tape")
        let seedGradient = seed ?? Tensor(repeating: 1, shape: output.value.shape)
        require(
            seedGradient.shape == output.value.shape,
            "backward: seed shape \(seedGradient.shape) vs output shape \(output.value.shape)")
        guard output.requiresGrad else { return }
        output.accumulateGradient(seedGradient)
        // Hold every node that is still reachable for the whole sweep: releasing
        // a node's closure below may drop the last reference to its inputs.
        let live = nodes.compactMap(\.variable)
        for node in live.reversed() {
            guard let gradient = node.grad, let backward = node.backward else { continue }
            if let profile {
                let start = DispatchTime.now().uptimeNanoseconds
                backward(gradient)
                profile.recordBackward(node.kind, since: start)
            } else {
                backward(gradient)
            }
            node.backward = nil
            if !node.retainsGradient && node !== output { node.grad = nil }
        }
    }
}

/// A tensor in a recorded computation, with the gradient that reaches it.
public final class Variable<Scalar: TensorScalar> {
    public let value: Tensor<Scalar>
    public fileprivate(set) var grad: Tensor<Scalar>?
    public let requiresGrad: Bool
    public let tape: Tape<Scalar>
    fileprivate var backward: ((Tensor<Scalar>) -> Void)?
    public private(set) var retainsGradient = false
    /// The op that produced this value (leaves: memory movement, never timed).
    let kind: OpKind

    fileprivate init(
        value: Tensor<Scalar>, tape: Tape<Scalar>, requiresGrad: Bool,
        backward: ((Tensor<Scalar>) -> Void)?, kind: OpKind = .memory
    ) {
        self.value = value
        self.kind = kind
        self.tape = tape
        self.requiresGrad = requiresGrad
        self.backward = backward
    }

    public var shape: [Int] { value.shape }

    /// Keeps this intermediate's gradient after backward (leaves always keep theirs).
    @discardableResult
    public func retainGradient() -> Variable {
        retainsGradient = true
        return self
    }

    /// Adds `factor · gradient` to this variable's gradient without a scaled
    /// copy when one is already there (a mixed edge's terms, whose input
    /// often has other consumers); ignored when none is needed.
    public func accumulateGradient(_ gradient: Tensor<Scalar>, scaledBy factor: Scalar) {
        guard needsGradient(like: gradient) else { return }
        if grad == nil {
            grad = gradient.scaled(by: factor)
        } else {
            grad!.add(gradient, scaledBy: factor)
        }
    }

    /// Adds `gradient` to this variable's gradient; ignored when none is needed.
    public func accumulateGradient(_ gradient: Tensor<Scalar>) {
        guard needsGradient(like: gradient) else { return }
        if grad == nil {
            grad = gradient
        } else {
            grad!.add(gradient)
        }
    }

    /// Whether a gradient is wanted here; a gradient of the wrong shape is a
    /// bug in an op's backward and stops the run.
    private func needsGradient(like gradient: Tensor<Scalar>) -> Bool {
        guard requiresGrad else { return false }
        require(
            gradient.shape == value.shape,
            "autodiff: gradient shape \(gradient.shape) for a value of shape \(value.shape)")
        return true
    }
}
