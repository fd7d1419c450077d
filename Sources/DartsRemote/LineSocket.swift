#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A connected stream socket that speaks lines: the wire protocol's framing
/// (docs/attach.md). Reads are bounded — a line longer than the limit is a
/// protocol violation, not an allocation — and `close()` from another
/// thread wakes a blocked reader.
final class LineSocket: @unchecked Sendable {
    // @unchecked: `buffer`, `consumed` and `chunk` are touched only by the
    // reading thread; writes are serialised by `writeLock`; `descriptor` is
    // immutable.
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already returned as lines.
    private var consumed = 0
    /// The receive buffer, reused.
    private var chunk = [UInt8](repeating: 0, count: 65536)
    private let writeLock = NSLock()

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    static func connect(to address: RemoteAddress) throws(RemoteError) -> LineSocket {
        switch address {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .cannotConnect(address.description, reason: String(cString: strerror(errno))) }
            var socketAddress = sockaddr_un()
            socketAddress.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw .cannotConnect(address.description, reason: reason)
            }
            return LineSocket(descriptor: fd)
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var found: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &found)
            guard status == 0, let first = found else {
                throw .cannotConnect(address.description, reason: String(cString: gai_strerror(status)))
            }
            defer { freeaddrinfo(first) }
            var reason = "no address"
            var candidate: UnsafeMutablePointer<addrinfo>? = first
            while let info = candidate {
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if fd >= 0 {
                    if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                        var on: Int32 = 1
                        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                        return LineSocket(descriptor: fd)
                    }
                    reason = String(cString: strerror(errno))
                    Glibc.close(fd)
                }
                candidate = info.pointee.ai_next
            }
            throw .cannotConnect(address.description, reason: reason)
        }
    }

    /// The next line without its newline, or nil at the end of the stream.
    /// Lines are cut from `buffer` by advancing `consumed`; the buffer is
    /// compacted once per receive, not once per line.
    func readLine(limit: Int) throws(RemoteError) -> String? {
        var searched = consumed
        while true {
            if let newline = buffer[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[consumed..<newline], as: UTF8.self)
                consumed = newline + 1
                return line
            }
            guard buffer.count - consumed <= limit else {
                throw .protocolViolation("a line longer than \(limit) bytes")
            }
            buffer.removeSubrange(..<consumed)
            consumed = 0
            searched = buffer.count
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// Writes one line (a newline is added); false once the peer is gone.
    @discardableResult
    func write(line: String) -> Bool {
        writeLock.lock()
        defer { writeLock.unlock() }
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return false }
            sent += count
        }
        return true
    }

    /// Ends both directions; a reader blocked in `readLine` returns nil.
    func shutDown() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
