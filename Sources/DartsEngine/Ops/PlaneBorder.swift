/// A plane copied into the interior of a larger one with a constant border
/// (zeros for convolutions, −∞ for max pooling), so that every window a
/// kernel reads is in bounds and the inner loops need no clipping.
struct PlaneBorder {
    let height: Int, width: Int, padding: Int

    /// The row pitch of the bordered plane.
    var pitch: Int { width + 2 * padding }
    var paddedHeight: Int { height + 2 * padding }
    var count: Int { paddedHeight * pitch }
    /// Where the plane's first element sits in the bordered plane.
    var interiorOffset: Int { padding * pitch + padding }

    func copy<Scalar>(_ plane: UnsafePointer<Scalar>, into bordered: UnsafeMutablePointer<Scalar>, filling fill: Scalar) {
        bordered.update(repeating: fill, count: count)
        for y in 0..<height {
            (bordered + interiorOffset + y * pitch).update(from: plane + y * width, count: width)
        }
    }

    /// How far a stride-1 k×k kernel of dilation d runs in the pitch layout:
    /// its output rows are `pitch` apart and the last one ends at the last
    /// output column, so this many positions cover every output (a strided
    /// kernel reads every s-th of them).
    func stride1Span(kernelSize k: Int, dilation d: Int) -> Int {
        let reach = d * (k - 1)
        return (paddedHeight - reach - 1) * pitch + (pitch - reach)
    }
}
