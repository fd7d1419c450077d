import Foundation

/// The kinds of work a step's time is broken down into, so the next
/// optimisation is chosen by measurement (`dartscope bench`).
public enum OpKind: String, CaseIterable, Codable, Sendable {
    case denseConvolution = "conv dense"
    case pointwiseConvolution = "conv 1x1"
    case depthwiseConvolution = "depthwise"
    case batchNorm = "batch norm"
    case pooling = "pooling"
    case elementwise = "elementwise"
    case memory = "memory movement"
    case classifier = "linear/softmax/loss"
}

/// Time per op kind (forward and backward) and the floating-point operations
/// of the convolutions and the classifier, filled by every tape created while
/// the profile is current (``measure(_:)``).
///
/// Forward time is attributed at `record`: the time since the previous op of
/// the same thread finished. Profiling costs two clock reads per op, so
/// benchmarks take their timings from unprofiled runs and use a profile only
/// for the breakdown and the FLOP count.
public final class OpProfile: @unchecked Sendable {
    // @unchecked: a profile is filled by the one thread that runs the
    // measured work and read after it finished.
    @TaskLocal static var current: OpProfile?

    public private(set) var forwardSeconds: [OpKind: Double] = [:]
    public private(set) var backwardSeconds: [OpKind: Double] = [:]
    public private(set) var flops = 0.0
    private var lastMark = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Runs `body` with this profile collecting from every tape it creates.
    public func measure<T>(_ body: () throws -> T) rethrows -> T {
        lastMark = DispatchTime.now().uptimeNanoseconds
        return try OpProfile.$current.withValue(self, operation: body)
    }

    public var totalSeconds: Double { forwardSeconds.values.reduce(0, +) + backwardSeconds.values.reduce(0, +) }

    public func seconds(of kind: OpKind) -> Double { (forwardSeconds[kind] ?? 0) + (backwardSeconds[kind] ?? 0) }

    func recordForward(_ kind: OpKind) {
        let now = DispatchTime.now().uptimeNanoseconds
        forwardSeconds[kind, default: 0] += Double(now - lastMark) / 1e9
        lastMark = now
    }

    func recordBackward(_ kind: OpKind, since start: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        backwardSeconds[kind, default: 0] += Double(now - start) / 1e9
        lastMark = now
    }

    func addFlops(_ count: Double) { flops += count }
}
