/// Tells glibc's allocator to keep freed tensor buffers for reuse.
///
/// A training step allocates and frees the same large buffers over and over.
/// With glibc's defaults, blocks above the (adaptive) mmap threshold are
/// fresh mappings and the heap top is trimmed back to the kernel, so most
/// tensors land on pages the kernel must fault in and zero again. Measured
/// with `dartscope bench`: conv 1×1 forward+backward 2.6 ms → 0.65 ms,
/// depthwise 3×3 3.3 ms → 1.8 ms.
public func configureAllocatorForTensors() {
    #if os(Linux)
    // glibc <malloc.h> parameters (mallopt is not exported by Glibc's module map).
    let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
    _ = glibcMallopt(mmapThreshold, 32 << 20)  // glibc's maximum; also stops the adaptive threshold
    _ = glibcMallopt(trimThreshold, Int32.max)
    _ = glibcMallopt(topPad, 64 << 20)
    #endif
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
