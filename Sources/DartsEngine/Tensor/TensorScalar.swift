import CBLAS
import CKernels
import RealModule

/// The element types a ``Tensor`` can hold.
///
/// The engine runs in `Float`; `Double` exists so that gradient checks and
/// Hessian checks can run the very same code in double precision, where a
/// central finite difference is accurate enough to catch a wrong backward pass.
public protocol TensorScalar: Real, BinaryFloatingPoint, SIMDScalar, Sendable, Codable {
    /// `C ← alpha · op(A) · op(B) + beta · C` on row-major matrices (BLAS gemm).
    static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    )

    /// The vectorised plane loops of CKernels for this scalar type.
    static var planeKernels: PlaneKernels<Self> { get }
}

@inline(__always)
private func blasTranspose(_ transposed: Bool) -> CBLAS_TRANSPOSE {
    transposed ? CblasTrans : CblasNoTrans
}

extension Float: TensorScalar {
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static let planeKernels = PlaneKernels<Float>(
        depthwiseForwardKernel: dk_depthwise_forward_f, depthwiseBackwardKernel: dk_depthwise_backward_f,
        windowMaxKernel: dk_window_max_f,
        sumKernel: dk_sum_f, dotKernel: dk_dot_f, squaredDeviationKernel: dk_squared_deviation_f,
        shiftScaleKernel: dk_shift_scale_f, batchNormInputGradientKernel: dk_batch_norm_input_gradient_f,
        reluKernel: dk_relu_f, reluBackwardKernel: dk_relu_backward_f, maskMultiplyKernel: dk_mask_multiply_f, scaleKernel: dk_scale_f, addScaledKernel: dk_add_scaled_f)
}

extension Double: TensorScalar {
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, blasTranspose(transposeA), blasTranspose(transposeB),
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static let planeKernels = PlaneKernels<Double>(
        depthwiseForwardKernel: dk_depthwise_forward_d, depthwiseBackwardKernel: dk_depthwise_backward_d,
        windowMaxKernel: dk_window_max_d,
        sumKernel: dk_sum_d, dotKernel: dk_dot_d, squaredDeviationKernel: dk_squared_deviation_d,
        shiftScaleKernel: dk_shift_scale_d, batchNormInputGradientKernel: dk_batch_norm_input_gradient_d,
        reluKernel: dk_relu_d, reluBackwardKernel: dk_relu_backward_d, maskMultiplyKernel: dk_mask_multiply_d, scaleKernel: dk_scale_d, addScaledKernel: dk_add_scaled_d)
}

/// The kernel family OpenBLAS chose for this CPU at start (Haswell,
/// SkylakeX, ...). Runs are bit-identical on one family; another family
/// rounds gemm differently, which a search amplifies within epochs, so two
/// machines agree on a run's statistics, not its digits.
public var blasCoreName: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}

/// Sets the number of threads OpenBLAS may use for gemm.
public func setBLASThreadCount(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}
