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

    /// Parses a file's bytes, checking that every byte range is in bounds and
    /// matches its dtype and shape.
    public static func decode(_ data: Data) throws -> (entries: [String: Entry], metadata: [String: String]) {
        guard data.count >= 8 else { throw Error.malformed("\(data.count) bytes, too short for the 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw Error.malformed("header length \(headerLength) exceeds the file size \(data.count)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw Error.malformed("the header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw Error.malformed("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= body.count else {
                throw Error.malformed("entry '\(name)' has byte range \(begin)..<\(end) outside the \(body.count)-byte data section")
            }
            let count = shape.reduce(1, *)
            let bytes = body.subdata(in: begin..<end)
            switch dtype {
            case "F32":
                guard bytes.count == count * 4 else { throw Error.malformed("entry '\(name)' has \(bytes.count) bytes for F32 shape \(shape)") }
                let values = bytes.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
                entries[name] = Entry(name: name, shape: shape, data: .float32(values))
            case "F64":
                guard bytes.count == count * 8 else { throw Error.malformed("entry '\(name)' has \(bytes.count) bytes for F64 shape \(shape)") }
                let values = bytes.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
                entries[name] = Entry(name: name, shape: shape, data: .float64(values))
            case "I64":
                guard bytes.count == count * 8 else { throw Error.malformed("entry '\(name)' has \(bytes.count) bytes for I64 shape \(shape)") }
                let values = bytes.withUnsafeBytes { raw in (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) } }
                entries[name] = Entry(name: name, shape: shape, data: .int64(values))
            default:
                throw Error.malformed("entry '\(name)' has unsupported dtype \(dtype)")
            }
        }
        return (entries, metadata)
    }
}
