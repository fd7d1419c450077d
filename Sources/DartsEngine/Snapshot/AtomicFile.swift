import CZlib
import Foundation

/// File-system helpers for snapshots: durable writes and checksums.
enum DurableFiles {
    /// Writes `data` to `path` and flushes it to disk before returning.
    static func write(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw SnapshotError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        try data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let result = Foundation.write(descriptor, raw.baseAddress! + written, raw.count - written)
                guard result > 0 else { throw SnapshotError.io(path: path, reason: String(cString: strerror(errno))) }
                written += result
            }
        }
        guard fsync(descriptor) == 0 else { throw SnapshotError.io(path: path, reason: "fsync: " + String(cString: strerror(errno))) }
    }

    /// Flushes a directory entry (after creating or renaming files in it).
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    static func crc32(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { raw in
            UInt32(CZlib.crc32(0, raw.bindMemory(to: UInt8.self).baseAddress, uInt(raw.count)))
        }
    }
}
