/// A search the dashboard watches from outside its process: what the header
/// says about it, and what `q` means (detach, or close a viewer — never stop
/// someone's GPU search).
public struct RemoteSource: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A live probe (`dartscope attach ADDRESS`): commands reach it.
        case probe(address: String)
        /// A metrics file (`dartscope view PATH`): read-only.
        case metricsFile(path: String)
    }

    public var kind: Kind
    /// The producer's device (`cuda:0`, `cpu`), when it says.
    public var device: String?
    /// torch.distributed's world size (1 without it).
    public var worldSize: Int?

    public init(kind: Kind, device: String? = nil, worldSize: Int? = nil) {
        self.kind = kind
        self.device = device
        self.worldSize = worldSize
    }

    public var acceptsCommands: Bool {
        if case .probe = kind { return true }
        return false
    }

    /// One phrase for the header: `probe 127.0.0.1:7797 cuda:0 ×2`.
    public var label: String {
        var parts: [String]
        switch kind {
        case .probe(let address): parts = ["probe", address]
        case .metricsFile(let path): parts = ["view", path]
        }
        if let device { parts.append(device) }
        if let worldSize, worldSize > 1 { parts.append("×\(worldSize)") }
        return parts.joined(separator: " ")
    }
}
