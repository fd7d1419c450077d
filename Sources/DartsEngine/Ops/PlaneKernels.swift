import CKernels

/// The C loops (CKernels) behind depthwise convolution, pooling, batch norm,
/// ReLU, the weighted sums and the Double-accumulated reductions, for one
/// scalar type: CKernels has a float (`_f`) and a double (`_d`) build of
/// each, and every `TensorScalar` names its own in ``TensorScalar/planeKernels``.
/// The methods give them Swift argument labels; see `kernels.h` for the
/// exact index formulas.
public struct PlaneKernels<Scalar>: Sendable {
    typealias Pointer = UnsafePointer<Scalar>
    typealias MutablePointer = UnsafeMutablePointer<Scalar>

    let depthwiseForwardKernel: @Sendable (Pointer?, Int, Int, Int, Int, Int, Int32, Pointer?, Int32, Int32, Int32, Int32,
                                           MutablePointer?, Int, Int, MutablePointer?) -> Void
    let depthwiseBackwardKernel: @Sendable (Pointer?, Pointer?, Int, Int, Int, Int, Int, Int32, Pointer?, Int32, Int32, Int32, Int32, Int, Int,
                                            MutablePointer?, UnsafeMutablePointer<Double>?, MutablePointer?) -> Void
    let windowMaxKernel: @Sendable (Pointer?, Int, Int32, MutablePointer?, UnsafeMutablePointer<Int32>?, Int) -> Void
    let sumKernel: @Sendable (Pointer?, Int) -> Scalar
    let dotKernel: @Sendable (Pointer?, Pointer?, Int) -> Scalar
    let squaredDeviationKernel: @Sendable (Pointer?, Scalar, Int) -> Scalar
    let shiftScaleKernel: @Sendable (Pointer?, Int, Scalar, Scalar, MutablePointer?) -> Void
    let batchNormInputGradientKernel: @Sendable (Pointer?, Pointer?, Int, Scalar, Scalar, Scalar, MutablePointer?) -> Void
    let reluKernel: @Sendable (Pointer?, Int, MutablePointer?) -> Void
    let reluBackwardKernel: @Sendable (Pointer?, Pointer?, Int, MutablePointer?) -> Void
    let maskMultiplyKernel: @Sendable (Pointer?, UnsafePointer<Float>?, Int, MutablePointer?) -> Void
    let scaleKernel: @Sendable (Pointer?, Int, Scalar, MutablePointer?) -> Void
    let addScaledKernel: @Sendable (Pointer?, Int, Scalar, MutablePointer?) -> Void

    /// Depthwise convolution of `samples` consecutive samples: the pointers
    /// are at the first sample's first plane; `scratch` holds
    /// ``DepthwiseGeometry/scratchCount`` scalars.
    func depthwiseForward(_ x: Pointer, samples: Int, geometry: DepthwiseGeometry, weights: Pointer,
                          into out: MutablePointer, scratch: MutablePointer) {
        let g = geometry
        depthwiseForwardKernel(x, samples, g.channels, g.channels, g.height, g.width, Int32(g.padding), weights,
                               Int32(g.kernelSize), Int32(g.dilation), Int32(g.stride), g.rectifiesInput ? 1 : 0, out, g.outHeight, g.outWidth, scratch)
    }

    /// The input gradient (overwrites `dx`) and the weight gradient (added to
    /// `dw`) of ``depthwiseForward(_:samples:geometry:weights:into:scratch:)``
    /// for the same samples; either may be nil.
    func depthwiseBackward(gradient: Pointer, input: Pointer, samples: Int, geometry: DepthwiseGeometry,
                           weights: Pointer, inputGradient dx: MutablePointer?, weightGradient dw: UnsafeMutablePointer<Double>?,
                           scratch: MutablePointer) {
        let g = geometry
        depthwiseBackwardKernel(gradient, input, samples, g.channels, g.channels, g.height, g.width, Int32(g.padding),
                                weights, Int32(g.kernelSize), Int32(g.dilation), Int32(g.stride), g.rectifiesInput ? 1 : 0, g.outHeight, g.outWidth,
                                dx, dw, scratch)
    }

    /// Stride-1 window maxima in the pitch layout, with the position of each
    /// window's first maximum.
    func windowMaxima(_ x: Pointer, pitch: Int, kernelSize: Int, into out: MutablePointer,
                      positions: UnsafeMutablePointer<Int32>, count: Int) {
        windowMaxKernel(x, pitch, Int32(kernelSize), out, positions, count)
    }

    /// Σ x[i] over a short run (callers add runs up in Double).
    func sum(_ x: Pointer, count: Int) -> Scalar { sumKernel(x, count) }

    /// Σ x[i]·y[i] over a short run.
    func dot(_ x: Pointer, _ y: Pointer, count: Int) -> Scalar { dotKernel(x, y, count) }

    /// Σ (x[i] − center)² over a short run.
    func squaredDeviation(_ x: Pointer, from center: Scalar, count: Int) -> Scalar { squaredDeviationKernel(x, center, count) }

    /// out[i] = (x[i] − shift)·scale.
    func shiftAndScale(_ x: Pointer, count: Int, shift: Scalar, scale: Scalar, into out: MutablePointer) {
        shiftScaleKernel(x, count, shift, scale, out)
    }

    /// Batch norm's input gradient: out[i] = factor·(g[i] − meanG − x̂[i]·meanGX).
    func batchNormInputGradient(_ g: Pointer, normalized: Pointer, count: Int, factor: Scalar, meanG: Scalar, meanGX: Scalar,
                                into out: MutablePointer) {
        batchNormInputGradientKernel(g, normalized, count, factor, meanG, meanGX, out)
    }

    /// out[i] = max(x[i], 0), NaN kept.
    func relu(_ x: Pointer, count: Int, into out: MutablePointer) { reluKernel(x, count, out) }

    /// out[i] = g[i] where the ReLU's output y[i] > 0, else 0.
    func reluBackward(_ g: Pointer, output y: Pointer, count: Int, into out: MutablePointer) { reluBackwardKernel(g, y, count, out) }

    /// out[i] = x[i]·mask[i] for a 0/1 mask.
    func multiply(_ x: Pointer, mask: UnsafePointer<Float>, count: Int, into out: MutablePointer) { maskMultiplyKernel(x, mask, count, out) }

    /// out[i] = factor·x[i].
    func scale(_ x: Pointer, count: Int, by factor: Scalar, into out: MutablePointer) { scaleKernel(x, count, factor, out) }

    /// out[i] += factor·x[i].
    func add(_ x: Pointer, count: Int, scaledBy factor: Scalar, into out: MutablePointer) { addScaledKernel(x, count, factor, out) }
}

/// The channels, plane sizes and kernel geometry of a depthwise convolution,
/// and whether it convolves ReLU(x) rather than x.
struct DepthwiseGeometry {
    let channels: Int
    let rectifiesInput: Bool
    let height: Int, width: Int, outHeight: Int, outWidth: Int
    let kernelSize: Int, stride: Int, padding: Int, dilation: Int

    /// Scratch scalars per thread for either direction.
    var scratchCount: Int {
        dk_depthwise_scratch_count(height, width, Int32(padding), Int32(kernelSize), Int32(dilation))
    }
}
