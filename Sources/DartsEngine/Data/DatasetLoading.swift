import CZlib
import Foundation

/// Why a dataset could not be read; every case names the file.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String, hint: String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownDataset(String)

    public var description: String {
        switch self {
        case .missingFile(let path, let hint): "dataset file not found: \(path) (\(hint))"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "malformed dataset file \(path): \(reason)"
        case .unknownDataset(let name): "unknown dataset '\(name)' (expected fashion-mnist, mnist, cifar10, cifar100 or synthetic)"
        }
    }
}

/// Readers for the on-disk formats: IDX (MNIST, Fashion-MNIST; gzip'd or
/// plain) and the CIFAR-10/100 binary versions.
public enum DatasetLoader {
    /// Where Debian's `dataset-fashion-mnist` package puts its files.
    public static let debianFashionMNIST = "/usr/share/datasets/fashion-mnist"

    /// Loads the training split of `name` from `directory` (default location
    /// when nil).
    public static func loadTrainingSet(_ name: String, directory: String?) throws -> Dataset {
        switch name.lowercased() {
        case "fashion-mnist", "fashion_mnist", "fmnist":
            return try loadIDX(name: "fashion-mnist", directory: directory ?? debianFashionMNIST,
                               hint: "install the Debian package dataset-fashion-mnist (scripts/setup.sh does) or pass --data DIR")
        case "mnist":
            guard let directory else { throw DatasetError.missingFile(path: "train-images-idx3-ubyte.gz", hint: "MNIST needs --data DIR with the IDX files") }
            return try loadIDX(name: "mnist", directory: directory, hint: "expected the MNIST IDX files in \(directory)")
        case "cifar10", "cifar-10":
            guard let directory else { throw DatasetError.missingFile(path: "cifar-10-batches-bin", hint: "CIFAR-10 needs --data DIR pointing at the extracted cifar-10-batches-bin folder") }
            let files = (1...5).map { "\(directory)/data_batch_\($0).bin" }
            return try loadCIFAR(name: "cifar10", files: files, labelBytes: 1, labelOffset: 0, classes: 10)
        case "cifar100", "cifar-100":
            guard let directory else { throw DatasetError.missingFile(path: "cifar-100-binary", hint: "CIFAR-100 needs --data DIR pointing at the extracted cifar-100-binary folder") }
            return try loadCIFAR(name: "cifar100", files: ["\(directory)/train.bin"], labelBytes: 2, labelOffset: 1, classes: 100)
        default:
            throw DatasetError.unknownDataset(name)
        }
    }

    /// `train-images-idx3-ubyte[.gz]` and `train-labels-idx1-ubyte[.gz]` from
    /// `directory`; every label must be one of the dataset's `classes` (a
    /// corrupted label would otherwise silently widen the classifier).
    static func loadIDX(name: String, directory: String, hint: String, classes: Int = 10) throws -> Dataset {
        let imagesPath = try locate("\(directory)/train-images-idx3-ubyte", hint: hint)
        let labelsPath = try locate("\(directory)/train-labels-idx1-ubyte", hint: hint)
        let images = try readIDX(imagesPath, expectedMagic: 0x0000_0803, rank: 3)
        let labels = try readIDX(labelsPath, expectedMagic: 0x0000_0801, rank: 1)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError.malformed(path: labelsPath, reason: "\(labels.dimensions[0]) labels for \(images.dimensions[0]) images in \(imagesPath)")
        }
        if let index = labels.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DatasetError.malformed(path: labelsPath, reason: "label \(labels.bytes[index]) of image \(index) outside 0..<\(classes)")
        }
        return Dataset(name: name, channels: 1, height: images.dimensions[1], width: images.dimensions[2],
                       classes: classes, pixels: images.bytes, labels: labels.bytes.map(Int.init))
    }

    /// The file itself, or its `.gz` sibling.
    static func locate(_ path: String, hint: String) throws -> String {
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path + ".gz") { return path + ".gz" }
        if fileManager.fileExists(atPath: path) { return path }
        throw DatasetError.missingFile(path: path + ".gz", hint: hint)
    }

    /// The most data an IDX file may declare (Fashion-MNIST's training
    /// images are 47 MB): a bound on what its header can make us inflate.
    static let maximumIDXBytes = 1 << 31

    /// Parses an IDX file: magic (0x00000800 | type 0x08 | rank), big-endian
    /// dimensions, then unsigned bytes. The header is read and checked first
    /// — every dimension at least 1, their product without overflow and
    /// within ``maximumIDXBytes`` — and then no more than the declared data
    /// (and one byte to notice a longer file) is inflated, so a gzip bomb
    /// costs what its header admits to, not what it expands to.
    static func readIDX(_ path: String, expectedMagic: UInt32, rank: Int) throws -> (dimensions: [Int], bytes: [UInt8]) {
        let file = try openStream(path)
        defer { gzclose(file) }
        let headerSize = 4 + 4 * rank
        let header = try read(file, upTo: headerSize, path: path)
        guard header.count == headerSize else {
            throw DatasetError.malformed(path: path, reason: "\(header.count) bytes, shorter than the \(headerSize)-byte IDX header")
        }
        func word(_ offset: Int) -> UInt32 {
            header[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let magic = word(0)
        guard magic == expectedMagic else {
            throw DatasetError.malformed(path: path, reason: String(format: "magic number 0x%08X, expected 0x%08X (IDX unsigned bytes, rank %d)", magic, expectedMagic, rank))
        }
        let dimensions = (0..<rank).map { Int(word(4 + 4 * $0)) }
        guard dimensions.allSatisfy({ $0 >= 1 }) else {
            throw DatasetError.malformed(path: path, reason: "dimensions \(dimensions): every one must be at least 1")
        }
        var declared = 1
        for dimension in dimensions {
            let (product, overflow) = declared.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= maximumIDXBytes else {
                throw DatasetError.malformed(path: path, reason: "dimensions \(dimensions) declare more than \(maximumIDXBytes) bytes")
            }
            declared = product
        }
        let bytes = try read(file, upTo: declared + 1, path: path)
        guard bytes.count == declared else {
            let found = bytes.count > declared ? "more than \(headerSize + declared)" : "\(headerSize + bytes.count)"
            throw DatasetError.malformed(path: path, reason: "\(found) bytes, expected \(headerSize + declared) for dimensions \(dimensions)")
        }
        return (dimensions, bytes)
    }

    /// A whole file, gunzipped when it is gzip data, refused past `limit`
    /// bytes without inflating more than one byte beyond them.
    static func readPossiblyCompressed(_ path: String, atMost limit: Int) throws -> [UInt8] {
        let file = try openStream(path)
        defer { gzclose(file) }
        let bytes = try read(file, upTo: limit + 1, path: path)
        guard bytes.count <= limit else { throw DatasetError.malformed(path: path, reason: "more than \(limit) bytes") }
        return bytes
    }

    /// A zlib stream on `path` (the caller closes it).
    static func openStream(_ path: String) throws -> gzFile {
        guard let file = gzopen(path, "rb") else {
            throw DatasetError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        return file
    }

    /// Up to `limit` bytes from a zlib stream (gzip data is inflated, a plain
    /// file read through unchanged).
    static func read(_ file: gzFile, upTo limit: Int, path: String) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while result.count < limit {
            let wanted = min(chunk.count, limit - result.count)
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32(wanted)) }
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "zlib error \(code)"
                throw DatasetError.malformed(path: path, reason: "corrupt gzip data (\(message))")
            }
            if read == 0 { break }
            result.append(contentsOf: chunk[0..<Int(read)])
        }
        return result
    }

    /// CIFAR binary files: records of label byte(s) then 3×32×32 channel-major pixels.
    static func loadCIFAR(name: String, files: [String], labelBytes: Int, labelOffset: Int, classes: Int) throws -> Dataset {
        let recordSize = labelBytes + 3 * 32 * 32
        var pixels: [UInt8] = [], labels: [Int] = []
        for path in files {
            guard FileManager.default.fileExists(atPath: path) else {
                throw DatasetError.missingFile(path: path, hint: "expected the extracted \(name) binary version")
            }
            // CIFAR's largest file holds 50 000 records.
            let data = try readPossiblyCompressed(path, atMost: 60_000 * recordSize)
            guard !data.isEmpty, data.count % recordSize == 0 else {
                throw DatasetError.malformed(path: path, reason: "\(data.count) bytes is not a multiple of the \(recordSize)-byte record size")
            }
            for start in stride(from: 0, to: data.count, by: recordSize) {
                let label = Int(data[start + labelOffset])
                guard label < classes else {
                    throw DatasetError.malformed(path: path, reason: "label \(label) at byte \(start + labelOffset) outside 0..<\(classes)")
                }
                labels.append(label)
                pixels.append(contentsOf: data[(start + labelBytes)..<(start + recordSize)])
            }
        }
        return Dataset(name: name, channels: 3, height: 32, width: 32, classes: classes, pixels: pixels, labels: labels)
    }
}
