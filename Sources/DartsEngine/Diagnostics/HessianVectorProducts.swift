/// Exact Hessian-vector products of a batch's loss with respect to α
/// (DESIGN §5), plus arch-L2 · v.
///
/// A central difference of α-gradients, (∇L(α + h·v) − ∇L(α − h·v)) / 2h,
/// whose ± passes replay the activation pattern (ReLU masks, max-pool
/// choices) of a base pass at α: the network is then smooth in α and the
/// difference equals the double-backward Hessian-vector product up to O(h²).
/// Every pass uses batch-statistics BN without updating running statistics,
/// the same batch and the same noise, skips weight-gradient work, and touches
/// no optimiser state; α is restored after each pass.
public struct HessianVectorProducts<Scalar: TensorScalar> {
    public let supernet: Supernet<Scalar>
    public let input: Tensor<Scalar>
    public let labels: [Int]
    public let step: Double
    public let l2: Double
    let noise: RandomGenerator
    let patterns = ActivationPatterns()
    let alpha: [Tensor<Scalar>]
    /// ∇α L at the base point (from the pattern-recording pass).
    public private(set) var gradient: [Tensor<Scalar>] = []
    public private(set) var loss = 0.0
    /// Hessian-vector products computed so far.
    public private(set) var count = 0

    /// Runs the base pass at the current α. `step` is h for unit-norm
    /// directions (scaled by 1/‖v‖ otherwise); `l2` is the arch weight decay
    /// whose Hessian l2·I R-DARTS includes.
    public init(supernet: Supernet<Scalar>, input: Tensor<Scalar>, labels: [Int], noise: RandomGenerator, step: Double, l2: Double) {
        self.supernet = supernet
        self.input = input
        self.labels = labels
        self.noise = noise
        self.step = step
        self.l2 = l2
        alpha = supernet.parameters.alphaNames.map { supernet.parameters.alphas[$0]! }
        (loss, gradient) = pass(mode: .record(patterns))
    }

    /// Loss and α-gradient at the store's current α under `mode`.
    private func pass(mode: PatternMode) -> (Double, [Tensor<Scalar>]) {
        let tape = Tape<Scalar>(patternMode: mode)
        var generator = noise
        let forward = supernet.forward(input, on: tape, batchNormMode: .batchStatistics, weightsRequireGradient: false, generator: &generator)
        let value = forward.logits.crossEntropy(labels: labels)
        tape.backward(from: value)
        return (Double(value.value.scalars[0]), forward.alphas.map { $0.grad ?? Tensor(zeros: $0.shape) })
    }

    private func gradient(at shifted: [Tensor<Scalar>]) -> [Tensor<Scalar>] {
        let names = supernet.parameters.alphaNames
        for (name, value) in zip(names, shifted) { supernet.parameters.alphas[name] = value }
        defer { for (name, value) in zip(names, alpha) { supernet.parameters.alphas[name] = value } }
        return pass(mode: .replay(patterns)).1
    }

    /// H·v for a direction given per α matrix.
    public mutating func product(_ direction: [Tensor<Scalar>]) -> [Tensor<Scalar>] {
        require(direction.map(\.shape) == alpha.map(\.shape), "HessianVectorProducts: direction shapes \(direction.map(\.shape)) vs α \(alpha.map(\.shape))")
        let norm = direction.reduce(0.0) { $0 + $1.squaredNorm }.squareRoot()
        guard norm > 0 else { return direction }
        let h = step / norm
        func shifted(_ sign: Double) -> [Tensor<Scalar>] {
            zip(alpha, direction).map { a, v in
                var s = a
                s.add(v, scaledBy: Scalar(sign * h))
                return s
            }
        }
        let plus = gradient(at: shifted(1)), minus = gradient(at: shifted(-1))
        count += 1
        return zip(zip(plus, minus), direction).map { pair, v in
            var result = pair.0
            result.add(pair.1, scaledBy: -1)
            result.scale(by: Scalar(1 / (2 * h)))
            result.add(v, scaledBy: Scalar(l2))
            return result
        }
    }

    /// The number of α coordinates (the Hessian's order).
    public var dimension: Int { supernet.parameters.alphaScalarCount }

    /// The full Hessian (one product per coordinate), symmetrised.
    /// `progress` hears (columns done, columns in all) after each product.
    public mutating func fullHessian(progress: (Int, Int) -> Void = { _, _ in }) -> [[Double]] {
        let n = dimension
        var columns: [[Double]] = []
        for i in 0..<n {
            columns.append(flatten(product(unflatten(basis(i, n)))))
            progress(i + 1, n)
        }
        return (0..<n).map { r in (0..<n).map { c in 0.5 * (columns[c][r] + columns[r][c]) } }
    }

    /// All α coordinates in one vector (normal, then reduce).
    public func flatten(_ tensors: [Tensor<Scalar>]) -> [Double] { tensors.flatMap { $0.scalars.map(Double.init) } }

    public func unflatten(_ values: [Double]) -> [Tensor<Scalar>] {
        var offset = 0
        return alpha.map { a in
            defer { offset += a.count }
            return Tensor(shape: a.shape, scalars: values[offset..<(offset + a.count)].map { Scalar($0) })
        }
    }

    private func basis(_ i: Int, _ n: Int) -> [Double] {
        var e = [Double](repeating: 0, count: n)
        e[i] = 1
        return e
    }

    /// The unit vector Lanczos starts from by default: standard normal
    /// coordinates from `seed`, in `flatten` order. The benchmark writes it
    /// out so the PyTorch harness starts its Lanczos from the same vector.
    public static func lanczosStart(dimension: Int, seed: UInt64 = 0) -> [Double] {
        var generator = RandomGenerator(seed: seed)
        let q = (0..<dimension).map { _ in generator.nextStandardNormal() }
        let norm = Self.dot(q, q).squareRoot()
        return q.map { $0 / norm }
    }

    /// The largest algebraic eigenvalue (what R-DARTS reports) by Lanczos
    /// with full reorthogonalisation from `lanczosStart(dimension:seed:)`, stopping
    /// once the top Ritz value moves by less than `tolerance` (relative)
    /// between iterations.
    public mutating func dominantEigenvalue(tolerance: Double = 1e-3, maxIterations: Int = 50, seed: UInt64 = 0) -> (value: Double, iterations: Int) {
        let n = dimension
        var basisVectors: [[Double]] = [Self.lanczosStart(dimension: n, seed: seed)]
        var diagonal: [Double] = [], offDiagonal: [Double] = []
        var previous = Double.nan
        for iteration in 1...max(1, min(maxIterations, n)) {
            var w = flatten(product(unflatten(basisVectors.last!)))
            let a = Self.dot(w, basisVectors.last!)
            diagonal.append(a)
            // Full reorthogonalisation (twice is enough) keeps Ritz values clean.
            for _ in 0..<2 {
                for b in basisVectors {
                    let c = Self.dot(w, b)
                    for i in 0..<n { w[i] -= c * b[i] }
                }
            }
            let beta = Self.dot(w, w).squareRoot()
            let top = SymmetricEigen.eigenvalues(tridiagonal(diagonal, offDiagonal)).last!
            if abs(top - previous) <= tolerance * max(abs(top), 1e-12) || beta < 1e-10 || iteration == min(maxIterations, n) {
                return (top, iteration)
            }
            previous = top
            offDiagonal.append(beta)
            basisVectors.append(w.map { $0 / beta })
        }
        return (previous, maxIterations)
    }

    private func tridiagonal(_ d: [Double], _ e: [Double]) -> [[Double]] {
        let m = d.count
        var t = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        for i in 0..<m {
            t[i][i] = d[i]
            if i + 1 < m { t[i][i + 1] = e[i]; t[i + 1][i] = e[i] }
        }
        return t
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}
