import CZlib
import Foundation

/// File-system helpers: durable writes, appended lines, checksums.
public enum DurableFiles {
    /// Writes `data` to `path` and flushes it to disk before returning.
    static func write(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw SnapshotError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        try writeAll(data, to: descriptor, path: path)
    }

    /// Appends `line` and a newline to `path` (created if missing) and
    /// flushes it: the journal and resumable result files are read back
    /// after an interruption, so every line that was written must be there.
    /// A torn last line left by a killed writer is dropped first.
    public static func appendLine(_ line: Data, to path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_APPEND, 0o644)
        guard descriptor >= 0 else { throw SnapshotError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        do { try JSONLines.dropTornLastLine(of: descriptor) } catch {
            throw SnapshotError.io(path: path, reason: "cannot drop its torn last line: \(String(cString: strerror(errno)))")
        }
        try writeAll(line + Data("\n".utf8), to: descriptor, path: path)
    }

    /// Writes every byte of `data` to an open file and flushes it.
    private static func writeAll(_ data: Data, to descriptor: Int32, path: String) throws {
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
