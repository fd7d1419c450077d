import DartsEngine
import CZlib
import Foundation
import Testing

@Suite("datasets")
struct DatasetTests {
    /// Writes a small IDX pair (optionally gzip'd) and returns the folder.
    func writeIDX(images: Int = 3, size: Int = 4, gzip: Bool, imageMagic: UInt32 = 0x0803, truncate: Int = 0) throws -> String {
        var imageData = Self.words([imageMagic] + [images, size, size].map(UInt32.init))
        imageData.append(contentsOf: (0..<(images * size * size)).map { UInt8($0 % 256) })
        imageData = imageData.prefix(imageData.count - truncate)
        var labelData = Self.words([0x0801, UInt32(images)])
        labelData.append(contentsOf: (0..<images).map { UInt8($0 % 10) })
        return try Self.writePair(images: imageData, labels: labelData, gzip: gzip)
    }

    @Test(arguments: [true, false])
    func readsIDXFiles(_ gzip: Bool) throws {
        let directory = try writeIDX(gzip: gzip)
        let dataset = try DatasetLoader.loadTrainingSet("mnist", directory: directory)
        #expect(dataset.count == 3 && dataset.height == 4 && dataset.width == 4 && dataset.channels == 1)
        #expect(dataset.labels == [0, 1, 2])
        #expect(Array(dataset.pixels.prefix(3)) == [0, 1, 2])
    }

    @Test func wrongMagicNamesFileAndExpectation() throws {
        let directory = try writeIDX(gzip: true, imageMagic: 0x0801)
        do {
            _ = try DatasetLoader.loadTrainingSet("mnist", directory: directory)
            Issue.record("accepted a wrong magic number")
        } catch {
            #expect("\(error)".contains("train-images-idx3-ubyte.gz"))
            #expect("\(error)".contains("magic number 0x00000801, expected 0x00000803"))
        }
    }

    /// An IDX pair whose image header declares `dimensions` (words as given,
    /// so 0xFFFFFFFF is possible) over `imageBytes` data bytes, and labels.
    func writeHostileIDX(dimensions: [UInt32], imageBytes: Int, labels: [UInt8], gzip: Bool = true) throws -> String {
        var images = Self.words([0x0803] + dimensions)
        images.append(Data(count: imageBytes))
        var labelData = Self.words([0x0801, UInt32(labels.count)])
        labelData.append(contentsOf: labels)
        return try Self.writePair(images: images, labels: labelData, gzip: gzip)
    }

    /// Big-endian 32-bit words, as IDX headers hold them.
    static func words(_ values: [UInt32]) -> Data {
        var data = Data()
        for word in values { data.append(contentsOf: withUnsafeBytes(of: word.bigEndian) { Array($0) }) }
        return data
    }

    /// The IDX image and label files in a fresh folder (gzip'd or plain); returns the folder.
    static func writePair(images: Data, labels: Data, gzip: Bool) throws -> String {
        let directory = EngineFixture.temporaryDirectory()
        for (name, data) in [("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)] {
            if gzip {
                let file = gzopen(directory + "/" + name + ".gz", "wb")!
                _ = data.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
                gzclose(file)
            } else {
                try data.write(to: URL(fileURLWithPath: directory + "/" + name))
            }
        }
        return directory
    }

    /// Crafted headers and labels: a one-line error naming the file and what
    /// is wrong, before the data is inflated — never a trap.
    @Test(arguments: [
        ([2, 0, 0] as [UInt32], 0, [0, 1] as [UInt8], "dimensions [2, 0, 0]: every one must be at least 1"),
        ([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], 0, [0, 1], "declare more than 2147483648 bytes"),
        ([2, 2, 2], 8, [0, 200], "label 200 of image 1 outside 0..<10"),
        // A bomb: 8 bytes declared, 64 MB of zeros behind them (64 kB gzip'd).
        ([2, 2, 2], 64 << 20, [0, 1], "more than 24 bytes, expected 24 for dimensions [2, 2, 2]"),
    ])
    func hostileIDXFilesAreRefused(_ dimensions: [UInt32], _ imageBytes: Int, _ labels: [UInt8], _ reason: String) throws {
        let directory = try writeHostileIDX(dimensions: dimensions, imageBytes: imageBytes, labels: labels)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try DatasetLoader.loadTrainingSet("mnist", directory: directory)
            Issue.record("accepted \(dimensions)")
        } catch {
            #expect("\(error)".contains(reason) && "\(error)".contains("-idx"), "\(error)")
        }
    }

    @Test func truncatedFileNamesTheSizeMismatch() throws {
        let directory = try writeIDX(gzip: false, truncate: 5)
        do {
            _ = try DatasetLoader.loadTrainingSet("mnist", directory: directory)
            Issue.record("accepted a truncated file")
        } catch {
            #expect("\(error)".contains("59 bytes, expected 64 for dimensions [3, 4, 4]"), "\(error)")
        }
    }

    @Test func missingFilesSayWhatToDo() {
        do {
            _ = try DatasetLoader.loadTrainingSet("fashion-mnist", directory: "/nonexistent")
            Issue.record("found a dataset in /nonexistent")
        } catch {
            #expect("\(error)" == "dataset file not found: /nonexistent/train-images-idx3-ubyte.gz (install the Debian package dataset-fashion-mnist (scripts/setup.sh does) or pass --data DIR)")
        }
        #expect(throws: DatasetError.unknownDataset("imagenet")) { try DatasetLoader.loadTrainingSet("imagenet", directory: nil) }
    }

    @Test func cifarRecordsAreChecked() throws {
        let directory = EngineFixture.temporaryDirectory()
        var record = Data([3])
        record.append(Data(repeating: 7, count: 3072))
        for i in 1...5 { try (record + record).write(to: URL(fileURLWithPath: "\(directory)/data_batch_\(i).bin")) }
        let dataset = try DatasetLoader.loadTrainingSet("cifar10", directory: directory)
        #expect(dataset.count == 10 && dataset.channels == 3 && dataset.labels.allSatisfy { $0 == 3 })
        try record.prefix(100).write(to: URL(fileURLWithPath: "\(directory)/data_batch_2.bin"))
        do {
            _ = try DatasetLoader.loadTrainingSet("cifar10", directory: directory)
            Issue.record("accepted a short CIFAR file")
        } catch {
            #expect("\(error)".contains("data_batch_2.bin: 100 bytes is not a multiple of the 3073-byte record size"))
        }
    }

    @Test func fashionMNISTFromTheDebianPackage() throws {
        let dataset = try DatasetLoader.loadTrainingSet("fashion-mnist", directory: nil)
        #expect(dataset.count == 60_000 && dataset.height == 28 && dataset.classes == 10)
        let (mean, std) = dataset.prefix(10_000).channelStatistics()
        #expect(abs(mean[0] - 0.286) < 0.01 && abs(std[0] - 0.353) < 0.01)
    }

    @Test func batchesAreNormalisedAndSamplersCoverEveryIndexOncePerPass() {
        let dataset = Dataset.synthetic(count: 20, classes: 2, size: 6)
        let pipeline = BatchPipeline(dataset: dataset, randomCropAndFlip: false, cutoutLength: 0)
        var generator = RandomGenerator(seed: 1)
        let batch = pipeline.batch(Array(0..<20), augment: false, generator: &generator)
        let mean = batch.images.sum / Double(batch.images.count)
        let variance = batch.images.squaredNorm / Double(batch.images.count) - mean * mean
        #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-4)
        var sampler = BatchSampler(indices: Array(0..<10), generator: RandomGenerator(seed: 3))
        let pass = (0..<3).flatMap { _ in sampler.nextBatch(size: 4) }
        #expect(pass.count == 10 && Set(pass) == Set(0..<10))
        #expect(sampler.batchesPerPass(batchSize: 4) == 3)
    }

    /// Batch norm in training mode cannot normalise one value per channel, so
    /// a pass whose remainder is one image ends a batch early.
    @Test func aLastBatchOfOneImageIsDropped() {
        var sampler = BatchSampler(indices: Array(0..<9), generator: RandomGenerator(seed: 3))
        #expect(sampler.batchesPerPass(batchSize: 4) == 2)
        let sizes = (0..<6).map { _ in sampler.nextBatch(size: 4).count }
        #expect(sizes == [4, 4, 4, 4, 4, 4])
        #expect(BatchSampler(indices: Array(0..<10), generator: RandomGenerator(seed: 3)).batchesPerPass(batchSize: 4) == 3)
    }
}
