import CKernels

/// Keeps the memory of freed tensors in the process for the next step.
///
/// A search step allocates and frees the same few hundred activation and
/// gradient buffers every time. glibc serves blocks above its mmap threshold
/// (128 KiB at first) with fresh `mmap`s and returns freed memory at the top
/// of the heap to the kernel, so each step page-faulted its buffers in again
/// and the kernel zeroed every page: about a tenth of a demo step's time
/// went to `clear_page`. A high mmap threshold, no trimming and a large
/// top pad let freed blocks be reused; the peak footprint is what the step
/// needs either way.
public enum AllocatorTuning {
    /// The largest mmap threshold glibc accepts on 64-bit systems (32 MiB);
    /// only bigger blocks are still mapped afresh.
    static let mmapThreshold: Int32 = 32 << 20
    /// Never hand free memory at the top of the heap back to the kernel (−1).
    /// A `paper`-size step frees about 5 GiB at once; with a finite
    /// threshold (2 GiB before) it went back to the kernel after every step
    /// unless a later, longer-lived allocation happened to pin the heap's
    /// top, so an architecture step alone in a process ran 2–3× slower than
    /// after a weight step. The cost: the process keeps its peak footprint.
    static let trimThreshold: Int32 = -1
    /// Extra memory the heap takes each time it grows (64 MiB), so that it
    /// grows in few steps.
    static let topPad: Int32 = 64 << 20

    /// Applies the settings; true if the allocator took them (false off
    /// glibc). Cheap and idempotent: the entry point and `setThreadCount`
    /// both call it.
    @discardableResult
    public static func keepFreedBlocks() -> Bool {
        dk_set_allocator_thresholds(mmapThreshold, trimThreshold, topPad) == 1
    }

    /// Hands every free page back to the kernel, once in a while rather than
    /// after every step. The one place that calls it is the epoch end, after
    /// the snapshot: encoding the manifest builds megabytes of short-lived
    /// JSON among the run's long-lived allocations, and with trimming off
    /// glibc kept each epoch's new high-water mark, so RSS crept up epoch by
    /// epoch (Benchmarks/soak.py measured it). The next step faults its
    /// buffers in again once — one step in an epoch.
    public static func releaseFreedMemory() {
        dk_release_free_memory()
    }
}
