#ifndef DARTSCOPE_DEPTHWISE_H
#define DARTSCOPE_DEPTHWISE_H

/// Depthwise k×k convolution (groups = channels) with zero padding `pad`,
/// dilation d and stride s, for a run of `run` consecutive channels of all
/// `samples` samples of an NCHW batch with `channels` channels: x, gy and dx
/// point at the run's first plane of sample 0, out and gy at the matching
/// output plane, and weights (and dw) at the run's first k×k kernel. Plane
/// (n, c) lies (n·channels + c) planes further. `scratch` holds
/// dk_depthwise_scratch_count(h, w, pad, k, d) scalars of the caller's (one
/// per thread). With `relu` set the convolution is of max(x, 0) (NaN kept),
/// done while copying each plane, and dx is the gradient with respect to x
/// itself (zero where x ≤ 0): the rectified input is never stored.

/// Scalars of scratch either direction needs.
long dk_depthwise_scratch_count(long h, long w, int pad, int k, int d);

/// out = the convolution of x (overwrites out).
void dk_depthwise_forward_f(const float *x, long samples, long run, long channels, long h, long w, int pad, const float *weights, int k, int d,
                            int s, int relu, float *out, long oh, long ow, float *scratch);
void dk_depthwise_forward_d(const double *x, long samples, long run, long channels, long h, long w, int pad, const double *weights, int k, int d,
                            int s, int relu, double *out, long oh, long ow, double *scratch);

/// From the output gradient gy: overwrites dx with the input gradient
/// (when dx is not NULL) and adds the weight gradient to dw (when dw is not
/// NULL; one double per weight, each plane's share summed in the scalar type).
void dk_depthwise_backward_f(const float *gy, const float *x, long samples, long run, long channels, long h, long w, int pad, const float *weights,
                             int k, int d, int s, int relu, long oh, long ow, float *dx, double *dw, float *scratch);
void dk_depthwise_backward_d(const double *gy, const double *x, long samples, long run, long channels, long h, long w, int pad, const double *weights,
                             int k, int d, int s, int relu, long oh, long ow, double *dx, double *dw, double *scratch);

#endif
