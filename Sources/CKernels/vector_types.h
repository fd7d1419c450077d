#ifndef DARTSCOPE_VECTOR_TYPES_H
#define DARTSCOPE_VECTOR_TYPES_H

/* What every kernel file shares: the clone attribute, the vector types and
   unaligned vector loads and stores. */

#if defined(__x86_64__) && defined(__clang__)
#define CLONED __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONED
#endif
#define INLINE static inline __attribute__((always_inline))

/* One 256-bit vector of each scalar type (two SSE registers on the baseline).
   Loads and stores go through memcpy: the planes are not vector-aligned. */
typedef float vf __attribute__((vector_size(32)));
typedef double vd __attribute__((vector_size(32)));

#define MAX_TAPS 49

/* Unaligned vector load and store (macros: a vector argument or return value
   would change the ABI between the baseline and the AVX2 clone). */
#define LOAD(V, p) ({ V v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define STORE(p, v) do { __typeof__(v) v_ = (v); __builtin_memcpy((p), &v_, sizeof v_); } while (0)

/* max(v, 0) lane by lane, NaN kept (as dk_relu does), and the lanes of g
   where x is positive (zero elsewhere, and where x is NaN): branch-free, as
   the signs of activations are random. */
#define RECTIFIED(v) ({ __typeof__(v) r_ = (v); __typeof__(r_ <= r_) m_ = r_ <= (__typeof__(r_)){0}; \
                        (__typeof__(r_))((__typeof__(m_))r_ & ~m_); })
#define WHERE_POSITIVE(g, x) ({ __typeof__(x) x_ = (x); __typeof__(x_ > x_) m_ = x_ > (__typeof__(x_)){0}; \
                                (__typeof__(x_))((__typeof__(m_))(g) & m_); })

#endif
