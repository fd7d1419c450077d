import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header
/// length, a JSON header mapping each name to dtype, shape and byte range,
/// then the raw little-endian data. PyTorch reads it with
/// `safetensors.torch.load_file`.
public enum SafeTensors {
    public enum Element: Sendable, Equatable {
        case float32([Float])
        case float64([Double])
        case int64([Int64])

        var dtype: String {
            switch self {
            case .float32: "F32"
            case .float64: "F64"
            case .int64: "I64"
            }
        }

        /// Whether every value is finite (integers always are).
        var isFinite: Bool {
            switch self {
            case .float32(let v): v.allSatisfy(\.isFinite)
            case .float64(let v): v.allSatisfy(\.isFinite)
            case .int64: true
            }
        }

        var byteCount: Int {
            switch self {
            case .float32(let v): v.count * 4
            case .float64(let v): v.count * 8
            case .int64(let v): v.count * 8
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var data: Element

        public init(name: String, shape: [Int], data: Element) {
            self.name = name
            self.shape = shape
            self.data = data
        }
    }

    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case malformed(String)

        public var description: String {
            switch self {
            case .malformed(let reason): "not a valid safetensors file: \(reason)"
            }
        }
    }

    /// Serialises entries in the given order (data laid out in that order too).
    public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            header[entry.name] = ["dtype": entry.data.dtype, "shape": entry.shape, "data_offsets": [offset, offset + entry.data.byteCount]]
            offset += entry.data.byteCount
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        // Pad the header with spaces to an 8-byte boundary, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var result = Data()
        result.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { result.append(contentsOf: $0) }
        result.append(json)
        for entry in entries {
            switch entry.data {
            case .float32(let values): values.withUnsafeBytes { result.append(contentsOf: $0) }
            case .float64(let values): values.withUnsafeBytes { result.append(contentsOf: $0) }
            case .int64(let values): values.withUnsafeBytes { result.append(contentsOf: $0) }
            }
        }
        return result
    }

    /// The largest header accepted, as in the reference implementation: a
    /// header is names and shapes, so anything bigger is not a tensor file.
    public static let maximumHeaderBytes = 100_000_000

    /// Parses a file's bytes. Everything is checked before anything is
    /// allocated from it: the header length against the file and
    /// ``maximumHeaderBytes``, each shape for negative dimensions and for a
    /// product (and byte count) that overflows, each byte range against the
    /// data section and its dtype's size, and that the ranges cover the data
    /// section exactly — so a file with bytes the header does not account
    /// for (appended, or a sparse giant) is refused rather than half-read.
    public static func decode(_ data: Data) throws -> (entries: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else { throw Error.malformed("\(data.count) bytes, too short for the 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderBytes) else {
            throw Error.malformed("header length \(headerLength) is over the \(maximumHeaderBytes)-byte limit")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw Error.malformed("header length \(headerLength) exceeds the file size \(data.count)")
        }
        let bodyStart = data.startIndex + 8 + Int(headerLength)
        let headerData = data.subdata(in: (data.startIndex + 8)..<bodyStart)
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw Error.malformed("the header is not a JSON object")
        }
        let bodyCount = data.endIndex - bodyStart
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        var covered = 0
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw Error.malformed("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            // One dispatch on the dtype: its element size and how its bytes decode.
            let width: Int
            let element: (UnsafeRawBufferPointer, Int) -> Element
            switch dtype {
            case "F32":
                width = 4
                element = { raw, n in .float32((0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }) }
            case "F64":
                width = 8
                element = { raw, n in .float64((0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }) }
            case "I64":
                width = 8
                element = { raw, n in .int64((0..<n).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }) }
            default:
                throw Error.malformed("entry '\(name)' has unsupported dtype \(dtype)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw Error.malformed("entry '\(name)' has a negative dimension in shape \(shape)") }
            var byteCount = 1
            for dimension in shape + [width] {
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw Error.malformed("entry '\(name)' has shape \(shape), whose size overflows") }
                byteCount = product
            }
            let count = byteCount / width
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= bodyCount else {
                throw Error.malformed("entry '\(name)' has byte range \(begin)..<\(end) outside the \(bodyCount)-byte data section")
            }
            guard end - begin == byteCount else {
                throw Error.malformed("entry '\(name)' has \(end - begin) bytes for \(dtype) shape \(shape)")
            }
            covered += byteCount
            let bytes = data.subdata(in: (bodyStart + begin)..<(bodyStart + end))
            entries[name] = Entry(name: name, shape: shape, data: bytes.withUnsafeBytes { element($0, count) })
        }
        // Overlapping ranges would cover more than the section; a gap or a tail, less.
        guard covered == bodyCount else {
            throw Error.malformed("the entries' byte ranges cover \(covered) of the \(bodyCount)-byte data section")
        }
        return (entries, metadata)
    }
}
