/// What a search is doing, as the dashboard's header shows it.
public enum RunState: String, Sendable, Codable {
    case running = "RUNNING"
    case paused = "PAUSED"
    case stepping = "STEPPING"
    case stopped = "STOPPED"
    case finished = "FINISHED"
    case diverged = "DIVERGED"
    /// An attached dashboard lost its probe and is retrying.
    case disconnected = "DISCONNECTED"
}

/// A fixed-capacity buffer that keeps the newest elements.
public struct RingBuffer<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    private var start = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "RingBuffer: capacity must be positive, got \(capacity)")
        self.capacity = capacity
    }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[start] = element
            start = (start + 1) % capacity
        }
    }

    public mutating func removeAll() {
        storage.removeAll()
        start = 0
    }

    /// Oldest first.
    public var elements: [Element] { Array(storage[start...] + storage[..<start]) }
    public var count: Int { storage.count }
    public var last: Element? { storage.isEmpty ? nil : storage[(start + storage.count - 1) % storage.count] }
}
