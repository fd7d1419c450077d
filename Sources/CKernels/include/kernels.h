#ifndef DARTSCOPE_KERNELS_H
#define DARTSCOPE_KERNELS_H

/// Vectorised inner loops of the engine's convolution and pooling ops, in C
/// so that they can be compiled twice (AVX2+FMA and the x86-64 baseline) and
/// picked at load time by the CPU they run on. Swift's own code is built for
/// the baseline only, which leaves half the vector width and FMA unused.
/// Every function is a pure loop over caller-owned memory: no allocation,
/// no threads (the Swift side splits work across its pool).

/// Stride-1 correlation of a padded plane with a k×k kernel of dilation d,
/// laid out in the padded row pitch: out[i] = Σ_{a,b} w[a·k+b] · x[i + a·d·pitch + b·d]
/// for 0 ≤ i < span (overwrites out).
void dk_correlate_f(const float *x, long pitch, const float *w, int k, int dilation, float *out, long span);
void dk_correlate_d(const double *x, long pitch, const double *w, int k, int dilation, double *out, long span);

/// The weight gradient of that correlation for one plane:
/// dw[a·k+b] += Σ_{i<span} g[i] · x[i + a·d·pitch + b·d].
void dk_tap_dots_f(const float *g, const float *x, long pitch, int k, int dilation, long span, double *dw);
void dk_tap_dots_d(const double *g, const double *x, long pitch, int k, int dilation, long span, double *dw);

/// Max over k×k windows of a padded plane, stride 1 in the pitch layout:
/// out[i] = max_t x[i + a·pitch + b], where[i] = the position of the first
/// maximum in row-major window order (strict >, as PyTorch breaks ties).
void dk_window_max_f(const float *x, long pitch, int k, float *out, int *where, long span);
void dk_window_max_d(const double *x, long pitch, int k, double *out, int *where, long span);

#endif
