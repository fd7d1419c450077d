/// Images and labels held in memory as raw bytes (what the IDX and CIFAR
/// files store); normalisation and augmentation happen per batch.
public struct Dataset: Sendable {
    public var name: String
    public var channels: Int
    public var height: Int
    public var width: Int
    public var classes: Int
    /// `count × channels × height × width` bytes, channel-major per image.
    public var pixels: [UInt8]
    public var labels: [Int]

    public init(name: String, channels: Int, height: Int, width: Int, classes: Int, pixels: [UInt8], labels: [Int]) {
        require(pixels.count == labels.count * channels * height * width,
                "Dataset \(name): \(pixels.count) pixel bytes for \(labels.count) images of \(channels)×\(height)×\(width)")
        self.name = name
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }
    public var imageSize: Int { channels * height * width }

    /// The first `limit` images (all when nil or larger than the set).
    public func prefix(_ limit: Int?) -> Dataset {
        guard let limit, limit < count else { return self }
        return Dataset(name: name, channels: channels, height: height, width: width, classes: classes,
                       pixels: Array(pixels[0..<(limit * imageSize)]), labels: Array(labels[0..<limit]))
    }

    /// Per-channel mean and standard deviation of the pixel values scaled to
    /// [0, 1] (the `transforms.Normalize` constants), accumulated in Double.
    public func channelStatistics() -> (mean: [Double], standardDeviation: [Double]) {
        var sums = [Double](repeating: 0, count: channels), squares = sums
        let plane = height * width
        pixels.withUnsafeBufferPointer { bytes in
            for image in 0..<count {
                for c in 0..<channels {
                    let base = image * imageSize + c * plane
                    var s = 0.0, q = 0.0
                    for i in 0..<plane { let v = Double(bytes[base + i]) / 255; s += v; q += v * v }
                    sums[c] += s
                    squares[c] += q
                }
            }
        }
        let n = Double(max(count * plane, 1))
        let mean = sums.map { $0 / n }
        let std = zip(squares, mean).map { max($0 / n - $1 * $1, 1e-12).squareRoot() }
        return (mean, std)
    }

    /// A learnable synthetic set for tests: each class is a fixed random
    /// pattern, each image that pattern plus noise.
    public static func synthetic(count: Int, classes: Int = 4, channels: Int = 1, size: Int = 8, seed: UInt64 = 1) -> Dataset {
        var generator = RandomGenerator(seed: seed)
        let imageSize = channels * size * size
        let patterns = (0..<classes).map { _ in (0..<imageSize).map { _ in generator.nextUniform() } }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(count * imageSize)
        var labels: [Int] = []
        for _ in 0..<count {
            let label = Int(generator.nextUInt32() % UInt32(classes))
            labels.append(label)
            for i in 0..<imageSize {
                let value = 0.7 * patterns[label][i] + 0.3 * generator.nextUniform()
                pixels.append(UInt8(max(0, min(255, (value * 255).rounded()))))
            }
        }
        return Dataset(name: "synthetic", channels: channels, height: size, width: size, classes: classes, pixels: pixels, labels: labels)
    }
}
