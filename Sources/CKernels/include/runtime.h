#ifndef DARTSCOPE_RUNTIME_H
#define DARTSCOPE_RUNTIME_H

/// The pieces of the C runtime the engine's thread pool and allocator
/// tuning need that Swift's Glibc module does not expose.

/* Not `#if defined(__GLIBC__)`: that macro comes from a libc header, and
   none is included yet here, so the test was always false and the
   allocator settings silently never applied. */
#if defined(__linux__)
#include <malloc.h>
#endif

/// A hint to the CPU that the caller is spinning on a shared flag (x86
/// `pause`): it keeps a waiting helper thread from starving a busy sibling
/// hardware thread and from flooding the memory bus with reads.
static inline void dk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// Sets glibc's mmap and trim thresholds and its top pad (bytes); returns 1
/// if all three were accepted, 0 otherwise or off glibc.
static inline int dk_set_allocator_thresholds(int mmap_threshold, int trim_threshold, int top_pad) {
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD) && defined(M_TOP_PAD)
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1 &&
           mallopt(M_TOP_PAD, top_pad) == 1;
#else
    (void)mmap_threshold; (void)trim_threshold; (void)top_pad;
    return 0;
#endif
}

/// Returns the free pages of every glibc arena to the kernel (malloc_trim);
/// a no-op elsewhere.
static inline void dk_release_free_memory(void) {
#if defined(M_TRIM_THRESHOLD)
    malloc_trim(0);
#endif
}

#endif
