/// Reductions over contiguous runs of scalars with eight independent running
/// sums. A single accumulator is a serial chain the compiler may not reorder
/// (that would change the rounding), so it stays scalar; eight independent
/// ones vectorise. Callers add the (short-run) results up in Double.
enum VectorMath {
    /// Σ x[i]·y[i].
    @inline(__always)
    static func dot<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, _ y: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
        var s4: Scalar = 0, s5: Scalar = 0, s6: Scalar = 0, s7: Scalar = 0
        var i = 0
        while i + 8 <= count {
            s0 += x[i] * y[i]; s1 += x[i + 1] * y[i + 1]; s2 += x[i + 2] * y[i + 2]; s3 += x[i + 3] * y[i + 3]
            s4 += x[i + 4] * y[i + 4]; s5 += x[i + 5] * y[i + 5]; s6 += x[i + 6] * y[i + 6]; s7 += x[i + 7] * y[i + 7]
            i += 8
        }
        while i < count { s0 += x[i] * y[i]; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    /// Σ x[i].
    @inline(__always)
    static func sum<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, count: Int) -> Scalar {
        var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
        var s4: Scalar = 0, s5: Scalar = 0, s6: Scalar = 0, s7: Scalar = 0
        var i = 0
        while i + 8 <= count {
            s0 += x[i]; s1 += x[i + 1]; s2 += x[i + 2]; s3 += x[i + 3]
            s4 += x[i + 4]; s5 += x[i + 5]; s6 += x[i + 6]; s7 += x[i + 7]
            i += 8
        }
        while i < count { s0 += x[i]; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }

    /// Σ (x[i] − center)².
    @inline(__always)
    static func squaredDeviation<Scalar: TensorScalar>(_ x: UnsafePointer<Scalar>, from center: Scalar, count: Int) -> Scalar {
        var s0: Scalar = 0, s1: Scalar = 0, s2: Scalar = 0, s3: Scalar = 0
        var s4: Scalar = 0, s5: Scalar = 0, s6: Scalar = 0, s7: Scalar = 0
        var i = 0
        while i + 8 <= count {
            let d0 = x[i] - center, d1 = x[i + 1] - center, d2 = x[i + 2] - center, d3 = x[i + 3] - center
            let d4 = x[i + 4] - center, d5 = x[i + 5] - center, d6 = x[i + 6] - center, d7 = x[i + 7] - center
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
            s4 += d4 * d4; s5 += d5 * d5; s6 += d6 * d6; s7 += d7 * d7
            i += 8
        }
        while i < count { let d = x[i] - center; s0 += d * d; i += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }
}
