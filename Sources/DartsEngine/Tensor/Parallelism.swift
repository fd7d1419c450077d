import CKernels
import Foundation
import Synchronization

/// The engine's own parallel loops (depthwise convolution, dense and 1×1
/// convolutions over samples, batch norm, ReLU).
///
/// A loop is cut into chunks that depend only on its shape — never on the
/// thread count — and chunks that produce partial sums (a weight gradient
/// over samples) are added in chunk order. So results are bit-identical for
/// any thread count and any contention; threads only decide how fast.
/// OpenBLAS runs single-threaded inside the chunks, so the two never
/// oversubscribe the cores.
public enum Parallelism {
    private static let activeThreads = Atomic<Int>(1)
    private static let pool = Mutex<WorkerPool?>(nil)

    /// Chunks handed to the pool, and those of them the helper threads ran,
    /// since start (loops that stay on one thread are not counted). On a
    /// shared machine a helper's core can be taken away; the share of chunks
    /// helpers ran tells a benchmark whether the second core really helped.
    static let chunksRun = Atomic<Int>(0)
    static let chunksRunByHelpers = Atomic<Int>(0)
    public static var chunkCounts: (all: Int, byHelpers: Int) {
        (chunksRun.load(ordering: .relaxed), chunksRunByHelpers.load(ordering: .relaxed))
    }

    /// Threads the loops use (``setThreadCount(_:)``).
    public static var threadCount: Int { activeThreads.load(ordering: .relaxed) }

    /// Below this many scalar operations a loop stays one chunk: handing work
    /// to a second thread costs a few microseconds.
    static let minimumParallelWork = 16_384
    /// Chunks per loop above that size: enough to keep a few cores busy.
    static let chunksPerLoop = 16

    /// How ``forEachChunk(of:work:_:)`` cuts `0..<count`.
    static func chunks(of count: Int, work: Int) -> [Range<Int>] {
        let parts = work >= minimumParallelWork ? min(chunksPerLoop, count) : 1
        guard parts > 1 else { return [0..<count] }
        return (0..<parts).map { ($0 * count / parts)..<(($0 + 1) * count / parts) }
    }

    /// Runs `body` on each range of ``chunks(of:work:)``, spread over the threads.
    static func forEachChunk(of count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let ranges = chunks(of: count, work: work)
        // One thread, a small loop, or the pool busy with another thread's
        // loop (a second engine, a concurrent test, a nested loop): the
        // chunks run here, one after the other.
        guard ranges.count > 1, threadCount > 1, let workers = pool.withLock({ $0 }), workers.tryAcquire() else {
            for range in ranges { body(range) }
            return
        }
        defer { workers.release() }
        chunksRun.add(ranges.count, ordering: .relaxed)
        withoutActuallyEscaping(body) { body in
            workers.run(chunks: ranges.count) { body(ranges[$0]) }
        }
    }

    /// `body(i)` for every `i` in `0..<count`, in parallel chunks, in order.
    static func map<Value>(_ count: Int, work: Int, _ body: (Int) -> Value) -> [Value] {
        [Value](unsafeUninitializedCapacity: count) { values, initialized in
            let base = values.baseAddress!
            forEachChunk(of: count, work: work) { range in
                for i in range { (base + i).initialize(to: body(i)) }
            }
            initialized = count
        }
    }

    /// Adds up per-chunk partial results (`length` scalars per chunk, chunk
    /// after chunk) in chunk order, which keeps the bits independent of the
    /// thread count.
    static func sumInChunkOrder<Scalar: TensorScalar>(_ partials: [Scalar], length: Int) -> [Scalar] {
        var sum = Array(partials[0..<length])
        for chunk in 1..<(partials.count / length) {
            for i in 0..<length { sum[i] += partials[chunk * length + i] }
        }
        return sum
    }

    /// The pool only grows (helpers sleep when idle), so a loop running on
    /// another thread never loses its helpers.
    static func set(_ count: Int) {
        let count = max(1, count)
        pool.withLock { current in
            if count > (current?.threads ?? 1) { current = WorkerPool(threads: count) }
        }
        activeThreads.store(count, ordering: .relaxed)
    }
}

/// Threads for the engine's numerical loops; also readies the allocator
/// for them (``AllocatorTuning``).
public func setThreadCount(_ count: Int) {
    AllocatorTuning.keepFreedBlocks()
    setBLASThreadCount(1)
    Parallelism.set(count)
}

/// Helper threads that spin briefly between jobs, as OpenMP runtimes do: a
/// step runs hundreds of short loops, and waking a sleeping thread for each
/// would cost more than the loop. After a while without work they sleep on a
/// condition variable.
final class WorkerPool: @unchecked Sendable {
    // @unchecked: `job` and `chunks` are written by the posting thread before
    // `generation` is released, and read by helpers after acquiring it.
    let threads: Int
    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(Int.max / 2)
    private let remaining = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private var job: ((Int) -> Void)?
    private var chunks = 0
    private let condition = NSCondition()
    private static let spinsBeforeSleeping = 200_000

    init(threads: Int) {
        self.threads = threads
        // Helpers start from generation 0 even when they start running only
        // after the first job was posted.
        for helper in 1..<threads {
            let thread = Thread { [self] in work(from: 0) }
            thread.name = "dartscope-worker-\(helper)"
            thread.start()
        }
    }

    /// Claims the pool for one `run`; false while another thread has it.
    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() { busy.store(false, ordering: .releasing) }

    /// Runs `job` for every chunk in `0..<chunks`, taken in turn by the calling
    /// thread and the helpers; returns when all are done. The caller holds the
    /// pool (``tryAcquire()``).
    func run(chunks: Int, _ job: @escaping (Int) -> Void) {
        self.job = job
        self.chunks = chunks
        remaining.store(chunks, ordering: .relaxed)
        nextChunk.store(0, ordering: .releasing)  // publishes job and chunks
        condition.lock()
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
        takeChunks(asHelper: false)
        while remaining.load(ordering: .acquiring) > 0 { dk_spin_pause() }
        // A helper waking late finds nothing left to take.
        nextChunk.store(Self.exhausted, ordering: .relaxed)
        self.job = nil
    }

    private static let exhausted = Int.max / 2

    private func takeChunks(asHelper: Bool) {
        while true {
            let chunk = nextChunk.add(1, ordering: .acquiring).oldValue
            guard chunk < chunks else { return }
            if asHelper { Parallelism.chunksRunByHelpers.add(1, ordering: .relaxed) }
            runChunk(chunk)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Holds the job only during the call: the poster's
    /// `withoutActuallyEscaping` checks that nobody holds the closure once
    /// `remaining` reaches zero.
    @inline(never)
    private func runChunk(_ chunk: Int) {
        job?(chunk)
    }

    private func work(from start: Int) {
        var seen = start
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                dk_spin_pause()
                spins += 1
                if spins >= Self.spinsBeforeSleeping {
                    condition.lock()
                    while generation.load(ordering: .acquiring) == seen { condition.wait() }
                    condition.unlock()
                }
            }
            seen = generation.load(ordering: .acquiring)
            takeChunks(asHelper: true)
        }
    }
}
