/// Turns dataset images into normalised (and optionally augmented) batches.
public struct BatchPipeline: Sendable {
    public let dataset: Dataset
    public let mean: [Double]
    public let standardDeviation: [Double]
    /// Random crop after zero-padding by 4 and horizontal flip (CIFAR-style).
    public var randomCropAndFlip: Bool
    /// Side of the square cutout hole (DeVries & Taylor), in pixels.
    public var cutoutLength: Int

    public init(dataset: Dataset, randomCropAndFlip: Bool, cutoutLength: Int) {
        self.dataset = dataset
        (mean, standardDeviation) = dataset.channelStatistics()
        self.randomCropAndFlip = randomCropAndFlip
        self.cutoutLength = cutoutLength
    }

    /// The images at `indices` as `[N, C, H, W]` and their labels. Augmentation
    /// (training batches only) draws from `generator`; cutout is applied with
    /// probability `cutoutProbability`.
    public func batch(
        _ indices: [Int], augment: Bool, cutoutProbability: Double = 0, generator: inout RandomGenerator
    ) -> (images: Tensor<Float>, labels: [Int]) {
        let c = dataset.channels, h = dataset.height, w = dataset.width, plane = h * w
        var images = Tensor<Float>(zeros: [indices.count, c, h, w])
        let scale = (0..<c).map { Float(1 / (255 * standardDeviation[$0])) }
        let shift = (0..<c).map { Float(mean[$0] / standardDeviation[$0]) }
        images.scalars.withUnsafeMutableBufferPointer { out in
            dataset.pixels.withUnsafeBufferPointer { pixels in
                for (n, index) in indices.enumerated() {
                    var dy = 0, dx = 0, flip = false
                    if augment && randomCropAndFlip {
                        dy = Int(generator.nextUInt32() % 9) - 4
                        dx = Int(generator.nextUInt32() % 9) - 4
                        flip = generator.nextUniform() < 0.5
                    }
                    let source = index * dataset.imageSize
                    for channel in 0..<c {
                        let target = (n * c + channel) * plane
                        for y in 0..<h {
                            let sy = y + dy
                            for x in 0..<w {
                                let sx0 = flip ? w - 1 - x : x
                                let sx = sx0 + dx
                                // Padding is zero before normalisation, as in torchvision.
                                let raw: Float = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? Float(pixels[source + channel * plane + sy * w + sx]) : 0
                                out[target + y * w + x] = raw * scale[channel] - shift[channel]
                            }
                        }
                    }
                    if augment && cutoutLength > 0 && cutoutProbability > 0 && generator.nextUniform() < cutoutProbability {
                        let cy = Int(generator.nextUInt32() % UInt32(h)), cx = Int(generator.nextUInt32() % UInt32(w))
                        let half = cutoutLength / 2
                        for channel in 0..<c {
                            let target = (n * c + channel) * plane
                            for y in max(0, cy - half)..<min(h, cy + half) {
                                for x in max(0, cx - half)..<min(w, cx + half) { out[target + y * w + x] = 0 }
                            }
                        }
                    }
                }
            }
        }
        return (images, indices.map { dataset.labels[$0] })
    }
}

/// Walks through a fixed set of indices in a fresh random order each pass,
/// handing out batches. The last one of a pass may be smaller, like a
/// PyTorch DataLoader without drop_last — except that a last batch of a
/// single image is dropped: batch norm in training mode needs two values per
/// channel, and PyTorch stops with an error there. No run that worked before
/// sees a different batch. Its state is plain data so a snapshot can store
/// the exact position.
public struct BatchSampler: Codable, Sendable, Equatable {
    public let indices: [Int]
    public private(set) var order: [Int]
    public private(set) var position: Int
    public private(set) var generator: RandomGenerator

    public init(indices: [Int], generator: RandomGenerator) {
        require(!indices.isEmpty, "BatchSampler: no indices to sample from")
        self.indices = indices
        self.generator = generator
        order = []
        position = 0
        reshuffle()
    }

    private mutating func reshuffle() {
        order = indices
        // Fisher–Yates with the sampler's own generator.
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
        position = 0
    }

    /// Batches per pass over the indices (a lone last image is no batch).
    public func batchesPerPass(batchSize: Int) -> Int {
        indices.count / batchSize + (indices.count % batchSize > 1 ? 1 : 0)
    }

    public mutating func nextBatch(size: Int) -> [Int] {
        if position >= order.count || (order.count - position == 1 && order.count > 1) { reshuffle() }
        let end = min(position + size, order.count)
        defer { position = end }
        return Array(order[position..<end])
    }
}
