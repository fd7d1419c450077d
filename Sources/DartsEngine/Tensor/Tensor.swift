/// A dense, contiguous, row-major array of scalars with an explicit shape.
///
/// Tensors are values: copying one is cheap until either copy is written to
/// (the storage is a Swift array). Image batches use the PyTorch layout
/// `[N, C, H, W]` so that parameter shapes and snapshots line up with the
/// reference implementation.
public struct Tensor<Scalar: TensorScalar>: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var scalars: [Scalar]

    public init(shape: [Int], scalars: [Scalar]) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        require(
            shape.elementCount == scalars.count,
            "Tensor: shape \(shape) needs \(shape.elementCount) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    public init(repeating value: Scalar, shape: [Int]) {
        self.init(shape: shape, scalars: Array(repeating: value, count: shape.elementCount))
    }

    /// A tensor whose scalars are written by `body` before anyone can read them;
    /// `body` must initialise every element.
    @inlinable
    public init(
        uninitializedShape shape: [Int],
        _ body: (UnsafeMutableBufferPointer<Scalar>) -> Void
    ) {
        let count = shape.elementCount
        let scalars = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            body(buffer)
            initialized = count
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// Converts between precisions (the engine's `Float` and the checks' `Double`).
    public init<Other: TensorScalar>(_ other: Tensor<Other>) {
        self.init(shape: other.shape, scalars: other.scalars.map { Scalar($0) })
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// The same scalars viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        require(
            newShape.elementCount == count,
            "reshape: cannot view shape \(shape) as \(newShape)")
        return Tensor(shape: newShape, scalars: scalars)
    }

    /// Adds `other` into this tensor in place (shapes must match); the
    /// gradient accumulation of every op with more than one consumer.
    public mutating func add(_ other: Tensor) {
        add(other, scaledBy: 1)  // 1·x is exact: the same bits as a plain sum
    }

    /// Adds `factor · other` into this tensor in place (shapes must match),
    /// in parallel chunks for large tensors.
    public mutating func add(_ other: Tensor, scaledBy factor: Scalar) {
        require(shape == other.shape, "add: shape mismatch \(shape) vs \(other.shape)")
        scalars.withUnsafeMutableBufferPointer { dst in
            other.scalars.withUnsafeBufferPointer { src in
                guard let source = src.baseAddress, let target = dst.baseAddress else { return }
                Parallelism.forEachChunk(of: src.count, work: src.count) { range in
                    Scalar.planeKernels.add(source + range.lowerBound, count: range.count, scaledBy: factor, into: target + range.lowerBound)
                }
            }
        }
    }

    /// `factor · self` as a new tensor, in parallel chunks for large tensors.
    public func scaled(by factor: Scalar) -> Tensor {
        Tensor(uninitializedShape: shape) { out in
            scalars.withUnsafeBufferPointer { x in
                guard let source = x.baseAddress, let target = out.baseAddress else { return }
                Parallelism.forEachChunk(of: x.count, work: x.count) { range in
                    Scalar.planeKernels.scale(source + range.lowerBound, count: range.count, by: factor, into: target + range.lowerBound)
                }
            }
        }
    }

    /// Multiplies every scalar by `factor` in place.
    public mutating func scale(by factor: Scalar) {
        scalars.withUnsafeMutableBufferPointer { dst in
            guard let target = dst.baseAddress else { return }
            Scalar.planeKernels.scale(target, count: dst.count, by: factor, into: target)
        }
    }

    /// Σ x², accumulated in Double (see ``dot(_:)``).
    public var squaredNorm: Double { dot(self) }

    /// Σ xᵢ·yᵢ: vectorised Scalar sums over short blocks (CKernels), added
    /// up in Double — a single Double chain does not vectorise.
    public func dot(_ other: Tensor) -> Double {
        require(shape == other.shape, "dot: shape mismatch \(shape) vs \(other.shape)")
        return scalars.withUnsafeBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                var sum = 0.0
                for start in stride(from: 0, to: a.count, by: Self.reductionBlock) {
                    let count = Swift.min(Self.reductionBlock, a.count - start)
                    sum += Double(Scalar.planeKernels.dot(a.baseAddress! + start, b.baseAddress! + start, count: count))
                }
                return sum
            }
        }
    }

    /// Elements per Scalar partial sum in the Double-accumulated reductions.
    static var reductionBlock: Int { 256 }

    /// Σ x, accumulated in Double as ``dot(_:)`` is.
    public var sum: Double {
        scalars.withUnsafeBufferPointer { buffer in
            var total = 0.0
            for start in stride(from: 0, to: buffer.count, by: Self.reductionBlock) {
                total += Double(Scalar.planeKernels.sum(buffer.baseAddress! + start, count: Swift.min(Self.reductionBlock, buffer.count - start)))
            }
            return total
        }
    }
}

extension Array where Element: TensorScalar {
    /// `count` scalars that the caller writes, every one of them, before
    /// anyone reads: for gradients a kernel overwrites in full, where a
    /// zero fill would be a wasted pass over memory.
    init(unfilledCount count: Int) {
        self.init(unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
}

extension Array where Element == Int {
    /// The number of elements a tensor of this shape holds.
    @inlinable
    public var elementCount: Int { reduce(1, *) }
}
