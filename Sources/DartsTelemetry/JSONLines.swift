import Foundation

/// JSON Lines files grown one appended line at a time (metrics, journal,
/// resumable result files). A process killed mid-write leaves a torn last
/// line without its newline; a line appended after it would be glued onto it
/// and both would be lost to every reader.
public enum JSONLines {
    /// Truncates the file open (for reading and writing) as `descriptor`
    /// after its last newline when its last byte is not one. Returns the
    /// number of bytes dropped: 0 when the file ends whole or is empty.
    @discardableResult
    public static func dropTornLastLine(of descriptor: Int32) throws -> Int {
        let size = lseek(descriptor, 0, SEEK_END)
        guard size > 0 else { return 0 }
        var keep: off_t = 0
        var end = size
        var buffer = [UInt8](repeating: 0, count: 4096)
        scan: while end > 0 {
            let start = max(0, end - off_t(buffer.count))
            let count = Int(end - start)
            let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, start) }
            guard read == count else { throw CocoaError(.fileReadUnknown) }
            for index in stride(from: count - 1, through: 0, by: -1) where buffer[index] == UInt8(ascii: "\n") {
                keep = start + off_t(index) + 1
                break scan
            }
            end = start
        }
        guard keep < size else { return 0 }
        guard ftruncate(descriptor, keep) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return Int(size - keep)
    }
}
