/// The C loops (CKernels) behind depthwise convolution and pooling, for one
/// scalar type: CKernels has a float (`_f`) and a double (`_d`) build of each,
/// and every `TensorScalar` names its own in ``TensorScalar/planeKernels``.
/// The methods give them Swift argument labels; see `kernels.h` for the
/// exact index formulas.
public struct PlaneKernels<Scalar>: Sendable {
    typealias Pointer = UnsafePointer<Scalar>
    typealias MutablePointer = UnsafeMutablePointer<Scalar>

    let correlate: @Sendable (Pointer?, Int, Pointer?, Int32, Int32, MutablePointer?, Int) -> Void
    let tapDots: @Sendable (Pointer?, Pointer?, Int, Int32, Int32, Int, UnsafeMutablePointer<Double>?) -> Void
    let correlateStrided: @Sendable (Pointer?, Int, Pointer?, Int32, Int32, Int32, MutablePointer?, Int, Int) -> Void
    let scatterStrided: @Sendable (Pointer?, Int, Int, Pointer?, Int32, Int32, Int32, MutablePointer?, Int) -> Void
    let tapDotsStrided: @Sendable (Pointer?, Int, Int, Pointer?, Int, Int32, Int32, Int32, UnsafeMutablePointer<Double>?) -> Void
    let windowMax: @Sendable (Pointer?, Int, Int32, MutablePointer?, UnsafeMutablePointer<Int32>?, Int) -> Void
    let windowMaxStrided: @Sendable (Pointer?, Int, Int32, Int32, MutablePointer?, UnsafeMutablePointer<Int32>?, Int, Int) -> Void

    /// Stride 1 in the row pitch of a bordered plane:
    /// out[i] = Σ w[a·k+b] · x[i + a·d·pitch + b·d] for i < count.
    func correlate(_ x: Pointer, pitch: Int, weights: Pointer, kernelSize: Int, dilation: Int, into out: MutablePointer, count: Int) {
        correlate(x, pitch, weights, Int32(kernelSize), Int32(dilation), out, count)
    }

    /// Any stride, dense `[outHeight, outWidth]` output.
    func correlate(_ x: Pointer, pitch: Int, weights: Pointer, kernelSize: Int, dilation: Int, stride: Int,
                   into out: MutablePointer, outHeight: Int, outWidth: Int) {
        correlateStrided(x, pitch, weights, Int32(kernelSize), Int32(dilation), Int32(stride), out, outHeight, outWidth)
    }

    /// The adjoint of the strided correlation: adds w · g onto `sink`.
    func scatter(_ g: Pointer, outHeight: Int, outWidth: Int, weights: Pointer, kernelSize: Int, dilation: Int, stride: Int,
                 onto sink: MutablePointer, pitch: Int) {
        scatterStrided(g, outHeight, outWidth, weights, Int32(kernelSize), Int32(dilation), Int32(stride), sink, pitch)
    }

    /// The stride-1 correlation's weight gradient for one plane, added to `dw`.
    func accumulateTapDots(gradient: Pointer, input: Pointer, pitch: Int, kernelSize: Int, dilation: Int, count: Int,
                           into dw: UnsafeMutablePointer<Double>) {
        tapDots(gradient, input, pitch, Int32(kernelSize), Int32(dilation), count, dw)
    }

    /// The strided correlation's weight gradient for one plane, added to `dw`.
    func accumulateTapDots(gradient: Pointer, outHeight: Int, outWidth: Int, input: Pointer, pitch: Int, kernelSize: Int,
                           dilation: Int, stride: Int, into dw: UnsafeMutablePointer<Double>) {
        tapDotsStrided(gradient, outHeight, outWidth, input, pitch, Int32(kernelSize), Int32(dilation), Int32(stride), dw)
    }

    /// Stride-1 window maxima in the pitch layout, with the position of each
    /// window's first maximum.
    func windowMaxima(_ x: Pointer, pitch: Int, kernelSize: Int, into out: MutablePointer,
                      positions: UnsafeMutablePointer<Int32>, count: Int) {
        windowMax(x, pitch, Int32(kernelSize), out, positions, count)
    }

    /// Window maxima at any stride with a dense output.
    func windowMaxima(_ x: Pointer, pitch: Int, kernelSize: Int, stride: Int, into out: MutablePointer,
                      positions: UnsafeMutablePointer<Int32>, outHeight: Int, outWidth: Int) {
        windowMaxStrided(x, pitch, Int32(kernelSize), Int32(stride), out, positions, outHeight, outWidth)
    }
}
