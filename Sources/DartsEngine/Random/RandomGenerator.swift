import RealModule

/// The one random number generator behind every random choice of a run:
/// initialisation, data order, augmentation, drop-path and noise.
///
/// PCG-XSH-RR 64/32 (O'Neill 2014): 64 bits of state, a stream selector,
/// small, fast, and its whole state is two integers, so a snapshot can store
/// it and a resumed run draws exactly the numbers the uninterrupted run would.
public struct RandomGenerator: RandomNumberGenerator, Codable, Hashable, Sendable {
    public private(set) var state: UInt64
    public private(set) var increment: UInt64
    /// Box–Muller yields normals in pairs; the spare is kept so that the
    /// sequence does not depend on how callers interleave draws.
    private var spareNormal: Double?

    private static let multiplier: UInt64 = 6_364_136_223_846_793_005

    /// A generator for `seed` on stream `stream` (different streams give
    /// independent sequences for the same seed).
    public init(seed: UInt64, stream: UInt64 = 0x853c_49e6_748f_ea9b) {
        state = 0
        increment = (stream << 1) | 1
        _ = nextUInt32()
        state &+= seed
        _ = nextUInt32()
    }

    public mutating func nextUInt32() -> UInt32 {
        let old = state
        state = old &* Self.multiplier &+ increment
        let xorShifted = UInt32(truncatingIfNeeded: ((old >> 18) ^ old) >> 27)
        let rotation = UInt32(truncatingIfNeeded: old >> 59)
        return (xorShifted >> rotation) | (xorShifted << ((~rotation &+ 1) & 31))
    }

    public mutating func next() -> UInt64 {
        (UInt64(nextUInt32()) << 32) | UInt64(nextUInt32())
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in [lower, upper).
    public mutating func nextUniform(in range: Range<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUniform()
    }

    /// A standard normal draw (Box–Muller).
    public mutating func nextStandardNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        var u1 = nextUniform()
        while u1 <= .leastNormalMagnitude { u1 = nextUniform() }
        let u2 = nextUniform()
        let radius = (-2 * Double.log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareNormal = radius * Double.sin(angle)
        return radius * Double.cos(angle)
    }

    /// A child generator on its own stream, for a consumer (say, the data
    /// loader) whose draws must not shift everyone else's.
    public mutating func split() -> RandomGenerator {
        RandomGenerator(seed: next(), stream: next())
    }
}
