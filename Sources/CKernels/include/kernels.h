#ifndef DARTSCOPE_KERNELS_H
#define DARTSCOPE_KERNELS_H

/// Vectorised inner loops of the engine's pooling, batch norm and elementwise ops, in C
/// so that they can be compiled twice (AVX2+FMA and the x86-64 baseline) and
/// picked at load time by the CPU they run on. Swift's own code is built for
/// the baseline only, which leaves half the vector width and FMA unused.
/// Every function is a pure loop over caller-owned memory: no allocation,
/// no threads (the Swift side splits work across its pool).

/// Max over k×k windows of a padded plane, stride 1 in the pitch layout:
/// out[i] = max_t x[i + a·pitch + b], where[i] = the position of the first
/// maximum in row-major window order (strict >, as PyTorch breaks ties).
void dk_window_max_f(const float *x, long pitch, int k, float *out, int *where, long span);
void dk_window_max_d(const double *x, long pitch, int k, double *out, int *where, long span);

/// Σ x[i], Σ x[i]·y[i] and Σ (x[i] − center)² over n elements, with
/// independent vector accumulators (the caller accumulates runs in double).
float dk_sum_f(const float *x, long n);
double dk_sum_d(const double *x, long n);
float dk_dot_f(const float *x, const float *y, long n);
double dk_dot_d(const double *x, const double *y, long n);
float dk_squared_deviation_f(const float *x, float center, long n);
double dk_squared_deviation_d(const double *x, double center, long n);

/// Batch norm's maps over one plane: out[i] = (x[i] − shift)·scale, and
/// out[i] = factor·(g[i] − meanG − xhat[i]·meanGX).
void dk_shift_scale_f(const float *x, long n, float shift, float scale, float *out);
void dk_shift_scale_d(const double *x, long n, double shift, double scale, double *out);
void dk_batch_norm_input_gradient_f(const float *g, const float *xhat, long n, float factor, float meanG, float meanGX, float *out);
void dk_batch_norm_input_gradient_d(const double *g, const double *xhat, long n, double factor, double meanG, double meanGX, double *out);

/// ReLU that keeps NaN (as PyTorch's max(x, 0) does, so divergence stays
/// visible), its backward from the output (y > 0 ⇔ x > 0), and the scaled
/// copy and scaled add of the mixed-edge weighted sum.
void dk_relu_f(const float *x, long n, float *out);
void dk_relu_d(const double *x, long n, double *out);
void dk_relu_backward_f(const float *g, const float *y, long n, float *out);
void dk_relu_backward_d(const double *g, const double *y, long n, double *out);
/// out[i] = x[i]·mask[i] with a 0/1 mask: a replayed ReLU pattern (forward
/// and backward alike).
void dk_mask_multiply_f(const float *x, const float *mask, long n, float *out);
void dk_mask_multiply_d(const double *x, const float *mask, long n, double *out);
void dk_scale_f(const float *x, long n, float factor, float *out);
void dk_scale_d(const double *x, long n, double factor, double *out);
void dk_add_scaled_f(const float *x, long n, float factor, float *out);
void dk_add_scaled_d(const double *x, long n, double factor, double *out);

#endif
