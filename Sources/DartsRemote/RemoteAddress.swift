/// Where a probe listens: `HOST:PORT` (TCP) or `unix:PATH`. The probe
/// listens on loopback unless told otherwise, and then wants a token.
public enum RemoteAddress: Equatable, Sendable, CustomStringConvertible {
    case tcp(host: String, port: UInt16)
    case unix(path: String)

    public init(parsing text: String) throws(RemoteError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty, path.utf8.count < 108 else {
                throw .badAddress(text, reason: "a Unix socket path must be 1–107 bytes")
            }
            self = .unix(path: path)
            return
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw .badAddress(text, reason: "expected HOST:PORT (e.g. 127.0.0.1:7797) or unix:PATH")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw .badAddress(text, reason: "the port must be a number in 1…65535")
        }
        guard !host.isEmpty else { throw .badAddress(text, reason: "no host before the port") }
        self = .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}

/// Why attaching failed, in words a user can act on.
public enum RemoteError: Error, Equatable, CustomStringConvertible {
    case badAddress(String, reason: String)
    case cannotConnect(String, reason: String)
    case refused(String, reason: String)
    case schemaMismatch(probe: Int, dashboard: Int)
    case protocolViolation(String)
    case unreadable(String, reason: String)

    public var description: String {
        switch self {
        case .badAddress(let text, let reason): "bad address '\(text)': \(reason)"
        case .cannotConnect(let address, let reason): "cannot connect to \(address): \(reason) (is the probe's search running, and listening there?)"
        case .refused(let address, let reason): "the probe at \(address) refused the connection: \(reason)"
        case .schemaMismatch(let probe, let dashboard):
            "the probe speaks telemetry schema \(probe), this dartscope speaks schema \(dashboard): upgrade the older of the two (pip install ./probe, or rebuild dartscope)"
        case .protocolViolation(let reason): "the probe broke the wire protocol: \(reason)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}
