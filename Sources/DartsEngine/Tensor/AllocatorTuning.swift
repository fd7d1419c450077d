import CKernels

/// Keeps the memory of freed tensors in the process for the next step.
///
/// A search step allocates and frees the same few hundred activation and
/// gradient buffers every time. glibc serves blocks above its mmap threshold
/// (128 KiB at first) with fresh `mmap`s and returns freed memory at the top
/// of the heap to the kernel, so each step page-faulted its buffers in again
/// and the kernel zeroed every page: about a tenth of a demo step's time
/// went to `clear_page`. Raising both thresholds lets freed blocks be
/// reused; the peak footprint is what the step needs either way.
public enum AllocatorTuning {
    /// The largest mmap threshold glibc accepts on 64-bit systems (32 MiB);
    /// only bigger blocks are still mapped afresh.
    static let mmapThreshold: Int32 = 32 << 20
    /// Free memory above this much at the top of the heap goes back to the kernel.
    static let trimThreshold: Int32 = 1 << 30

    private static let applied = dk_set_allocator_thresholds(mmapThreshold, trimThreshold) == 1

    /// Applies the thresholds once per process; true if the allocator took them.
    @discardableResult
    public static func keepFreedBlocks() -> Bool { applied }
}
