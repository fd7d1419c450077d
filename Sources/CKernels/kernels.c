#include "kernels.h"
#include "vector_types.h"

/* Defines the kernels for scalar T with vector V of LANES lanes. The tap
   loop has a constant trip count in the k = 3 and k = 5 instances (the DARTS
   ops), so it unrolls and the accumulators stay in registers. */
#define DEFINE_KERNELS(T, V, LANES, SUFFIX)                                                          \
    /* Max over k×k windows with the first maximum's position (row-major, strict >, as PyTorch),      \
       stride 1 in the pitch layout: out[i] = max_t x[i + off_t], where[i] = i + off_t. */             \
    INLINE void window_max_##SUFFIX(const T *x, long pitch, int k, T *out, int *where, long span) {    \
        long offset[MAX_TAPS];                                                                        \
        const int taps = k * k;                                                                       \
        for (int a = 0; a < k; a++)                                                                   \
            for (int b = 0; b < k; b++) offset[a * k + b] = (long)a * pitch + b;                      \
        for (long i = 0; i < span; i++) {                                                             \
            T best = x[i];                                                                            \
            long at = i;                                                                              \
            for (int t = 1; t < taps; t++) {                                                          \
                T v = x[i + offset[t]];                                                               \
                if (v > best) { best = v; at = i + offset[t]; }                                       \
            }                                                                                         \
            out[i] = best;                                                                            \
            where[i] = (int)at;                                                                       \
        }                                                                                             \
    }                                                                                                 \
    CLONED void dk_window_max_##SUFFIX(const T *x, long pitch, int k, T *out, int *where, long span) { \
        if (k == 3) window_max_##SUFFIX(x, pitch, 3, out, where, span);                               \
        else window_max_##SUFFIX(x, pitch, k, out, where, span);                                      \
    }                                                                                                 \
    /* Reductions with four independent vector accumulators (a single running sum is a serial       \
       chain the compiler may not reorder); the caller adds short runs up in double. */              \
    CLONED T dk_sum_##SUFFIX(const T *x, long n) {                                                    \
        V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                                     \
        long i = 0;                                                                                   \
        for (; i + 4 * LANES <= n; i += 4 * LANES) {                                                  \
            s0 += LOAD(V, x + i); s1 += LOAD(V, x + i + LANES);                                       \
            s2 += LOAD(V, x + i + 2 * LANES); s3 += LOAD(V, x + i + 3 * LANES);                       \
        }                                                                                             \
        for (; i + LANES <= n; i += LANES) s0 += LOAD(V, x + i);                                      \
        V s = (s0 + s1) + (s2 + s3);                                                                  \
        T total = 0;                                                                                  \
        for (int l = 0; l < LANES; l++) total += s[l];                                                \
        for (; i < n; i++) total += x[i];                                                             \
        return total;                                                                                 \
    }                                                                                                 \
    CLONED T dk_dot_##SUFFIX(const T *x, const T *y, long n) {                                        \
        V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                                     \
        long i = 0;                                                                                   \
        for (; i + 4 * LANES <= n; i += 4 * LANES) {                                                  \
            s0 += LOAD(V, x + i) * LOAD(V, y + i);                                                    \
            s1 += LOAD(V, x + i + LANES) * LOAD(V, y + i + LANES);                                    \
            s2 += LOAD(V, x + i + 2 * LANES) * LOAD(V, y + i + 2 * LANES);                            \
            s3 += LOAD(V, x + i + 3 * LANES) * LOAD(V, y + i + 3 * LANES);                            \
        }                                                                                             \
        for (; i + LANES <= n; i += LANES) s0 += LOAD(V, x + i) * LOAD(V, y + i);                     \
        V s = (s0 + s1) + (s2 + s3);                                                                  \
        T total = 0;                                                                                  \
        for (int l = 0; l < LANES; l++) total += s[l];                                                \
        for (; i < n; i++) total += x[i] * y[i];                                                      \
        return total;                                                                                 \
    }                                                                                                 \
    CLONED T dk_squared_deviation_##SUFFIX(const T *x, T center, long n) {                            \
        V s0 = {0}, s1 = {0};                                                                         \
        long i = 0;                                                                                   \
        for (; i + 2 * LANES <= n; i += 2 * LANES) {                                                  \
            V d0 = LOAD(V, x + i) - center, d1 = LOAD(V, x + i + LANES) - center;                     \
            s0 += d0 * d0; s1 += d1 * d1;                                                             \
        }                                                                                             \
        V s = s0 + s1;                                                                                \
        T total = 0;                                                                                  \
        for (int l = 0; l < LANES; l++) total += s[l];                                                \
        for (; i < n; i++) { T d = x[i] - center; total += d * d; }                                   \
        return total;                                                                                 \
    }                                                                                                 \
    /* Batch norm's two maps: x̂ = (x − mean)·invstd, and dx = factor·(g − mean(g) − x̂·mean(g·x̂)). */ \
    CLONED void dk_shift_scale_##SUFFIX(const T *x, long n, T shift, T scale, T *out) {               \
        for (long i = 0; i < n; i++) out[i] = (x[i] - shift) * scale;                                 \
    }                                                                                                 \
    CLONED void dk_batch_norm_input_gradient_##SUFFIX(const T *g, const T *xhat, long n, T factor,    \
                                                      T meanG, T meanGX, T *out) {                    \
        for (long i = 0; i < n; i++) out[i] = factor * (g[i] - meanG - xhat[i] * meanGX);              \
    }                                                                                                 \
    /* Elementwise maps of ReLU and the mixed-edge weighted sum. */                                   \
    CLONED void dk_relu_##SUFFIX(const T *x, long n, T *out) {                                         \
        for (long i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : (x[i] != x[i] ? x[i] : 0);             \
    }                                                                                                 \
    CLONED void dk_relu_backward_##SUFFIX(const T *g, const T *y, long n, T *out) {                   \
        for (long i = 0; i < n; i++) out[i] = y[i] > 0 ? g[i] : 0;                                     \
    }                                                                                                 \
    CLONED void dk_mask_multiply_##SUFFIX(const T *x, const float *mask, long n, T *out) {             \
        for (long i = 0; i < n; i++) out[i] = x[i] * (T)mask[i];                                      \
    }                                                                                                 \
    CLONED void dk_scale_##SUFFIX(const T *x, long n, T factor, T *out) {                             \
        for (long i = 0; i < n; i++) out[i] = factor * x[i];                                          \
    }                                                                                                 \
    CLONED void dk_add_scaled_##SUFFIX(const T *x, long n, T factor, T *out) {                        \
        for (long i = 0; i < n; i++) out[i] += factor * x[i];                                         \
    }

DEFINE_KERNELS(float, vf, 8, f)
DEFINE_KERNELS(double, vd, 4, d)

