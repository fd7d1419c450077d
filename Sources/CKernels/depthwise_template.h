/* Depthwise convolution for one scalar type; included by depthwise.c once
   per type with T (scalar), V (vector), LANES and NAME(x) (x with the type's
   suffix) defined.

   Every plane is first copied into the zero-bordered scratch plane `src` of
   row pitch pw, so every tap is in bounds. An output row is then a run of
   whole vectors along the bordered row: lanes past the row's end compute
   values nobody keeps (they read the border, the next row or the scratch's
   slack), which is cheaper than a scalar tail on rows of 7 to 28 pixels. */

/* out[j] = Σ_t w[t]·x[j + off[t]] for j < n, rounded up to whole vectors,
   zero where mask[j] ≤ 0 if there is a mask (the ReLU's backward):
   writes ceil(n / LANES)·LANES values. TAPS is a constant in the k = 3 and
   k = 5 instances, so the weights stay in registers. */
INLINE void NAME(row_correlate)(const T *x, const long *off, const V *w, int taps, const T *mask, T *out, long n) {
    for (long j = 0; j < n; j += LANES) {
        V s = w[0] * LOAD(V, x + j + off[0]);
        for (int t = 1; t < taps; t++) s += w[t] * LOAD(V, x + j + off[t]);
        if (mask) s = WHERE_POSITIVE(s, LOAD(V, mask + j));
        STORE(out + j, s);
    }
}

/* Copies n scalars (no vector lanes past n: the destination's border must stay zero). */
INLINE void NAME(copy_run)(const T *from, T *to, long n) {
    long j = 0;
    for (; j + LANES <= n; j += LANES) STORE(to + j, LOAD(V, from + j));
    for (; j < n; j++) to[j] = from[j];
}

/* An h×w plane into the interior of a bordered plane of pitch w + 2·pad.
   With `relu` the whole bordered plane is then rectified in place, whole
   vectors into the slack: the zero border stays zero, and one branch-free
   sweep over a plane in L1 beats rectifying each short row with a tail
   (the signs are random, so a scalar tail mispredicts every other value). */
INLINE void NAME(copy_into_border)(const T *plane, long h, long w, int pad, int relu, T *bordered) {
    const long pw = w + 2 * pad;
    for (long r = 0; r < h; r++) NAME(copy_run)(plane + r * w, bordered + (r + pad) * pw + pad, w);
    if (relu)
        for (long j = 0; j < (h + 2 * pad) * pw; j += LANES) STORE(bordered + j, RECTIFIED(LOAD(V, bordered + j)));
}

/* One output row of `ow` values at stride s from the bordered row `base`
   (masked by `mask` at stride 1, see row_correlate). A stride-1 row whose
   whole-vector overrun lands inside rows written after it goes straight to
   `out`; the others go through `row`. */
INLINE void NAME(output_row)(const T *base, const long *off, const V *w, int taps, int s, long ow,
                             int overrun_allowed, const T *mask, T *out, T *row) {
    if (s == 1 && overrun_allowed) {
        NAME(row_correlate)(base, off, w, taps, mask, out, ow);
        return;
    }
    NAME(row_correlate)(base, off, w, taps, mask, row, (ow - 1) * s + 1);
    for (long c = 0; c < ow; c++) out[c] = row[c * s];
}

/* Whether row r's whole vectors stay inside the plane's rows (the rows
   after r are written later and overwrite the overrun). */
INLINE int NAME(overrun_lands_later)(long r, long width, long height) {
    return r * width + (width + LANES - 1) / LANES * LANES <= height * width;
}

INLINE void NAME(forward_planes)(const T *x, long samples, long run, long channels, long h, long w, int pad,
                                 const T *weights, int k, int d, int s, int relu, T *out, long oh, long ow, T *scratch) {
    const long pw = w + 2 * pad, area = (h + 2 * pad) * pw, slack = dk_depthwise_slack(pw);
    T *src = scratch, *row = scratch + area + slack;
    for (T *z = src; z < row; z++) *z = 0;
    const int taps = k * k;
    long off[MAX_TAPS];
    dk_tap_offsets(off, k, d, pw);
    V wv[MAX_TAPS];
    /* Sample-major: a chunk's planes are then one contiguous run of memory,
       which the hardware prefetchers follow (channel-major jumps a whole
       sample between planes). Reloading a kernel per plane costs nothing. */
    for (long n = 0; n < samples; n++) {
        for (long c = 0; c < run; c++) {
            for (int t = 0; t < taps; t++) wv[t] = (V){0} + weights[c * taps + t];
            const long plane = n * channels + c;
            NAME(copy_into_border)(x + plane * h * w, h, w, pad, relu, src);
            T *target = out + plane * oh * ow;
            for (long r = 0; r < oh; r++)
                NAME(output_row)(src + r * s * pw, off, wv, taps, s, ow, NAME(overrun_lands_later)(r, ow, oh), (const T *)0, target + r * ow, row);
        }
    }
}

/* Σ_i g[i]·x[i + off[t]] for each of `taps` offsets over i < n, all taps in
   one sweep (TAPS accumulators): whole vectors go to sums[t], the scalar
   tail to tail[t]; the caller folds the lanes once per plane. */
INLINE void NAME(tap_dots_run)(const T *g, const T *x, const long *off, int taps, long n, V *sums, T *tail) {
    V local[MAX_TAPS]; /* registers: TAPS is a constant where this is inlined */
    for (int t = 0; t < taps; t++) local[t] = sums[t];
    long i = 0;
    for (; i + LANES <= n; i += LANES) {
        const V gv = LOAD(V, g + i);
        for (int t = 0; t < taps; t++) local[t] += gv * LOAD(V, x + i + off[t]);
    }
    for (int t = 0; t < taps; t++) {
        sums[t] = local[t];
        for (long j = i; j < n; j++) tail[t] += g[j] * x[j + off[t]];
    }
}

INLINE void NAME(backward_planes)(const T *gy, const T *x, long samples, long run, long channels, long h, long w,
                                  int pad, const T *weights, int k, int d, int s, int relu, long oh, long ow, T *dx, double *dw,
                                  T *scratch) {
    const long pw = w + 2 * pad, area = (h + 2 * pad) * pw, slack = dk_depthwise_slack(pw);
    const long reach = dk_tap_reach(k, d, pw);
    T *src = scratch;
    /* The output gradient at its stride-1 positions in the bordered layout,
       zero elsewhere, behind `reach` zeros so that dx can gather from it. */
    T *wide = scratch + area + slack + reach;
    T *row = wide + area + slack;
    for (T *z = scratch; z < row; z++) *z = 0;
    const int taps = k * k;
    long off[MAX_TAPS];
    dk_tap_offsets(off, k, d, pw);
    V flipped[MAX_TAPS];
    for (long n = 0; n < samples; n++) { /* sample-major, as forward */
        for (long c = 0; c < run; c++) {
            for (int t = 0; t < taps; t++) flipped[t] = (V){0} + weights[c * taps + taps - 1 - t];
            const long plane = n * channels + c;
            const T *g = gy + plane * oh * ow;
            for (long r = 0; r < oh; r++) {
                if (s == 1) NAME(copy_run)(g + r * ow, wide + r * pw, ow);
                else for (long col = 0; col < ow; col++) wide[r * s * pw + col * s] = g[r * ow + col];
            }
            /* The (rectified) input: dw correlates it with the gradient, and
               with `relu` its signs mask dx. */
            if (dw || relu) NAME(copy_into_border)(x + plane * h * w, h, w, pad, relu, src);
            if (dw) {
                /* Rows of the gradient are pw apart; at stride 1 they tile one run,
                   strided they are runs of their own (the rows between are zero). */
                const long runs = s == 1 ? 1 : oh, run_length = s == 1 ? oh * pw : pw;
                V sums[MAX_TAPS];
                T tail[MAX_TAPS];
                for (int t = 0; t < taps; t++) { sums[t] = (V){0}; tail[t] = 0; }
                for (long r = 0; r < runs; r++) {
                    const long start = r * s * pw;
                    if (taps <= 9) NAME(tap_dots_run)(wide + start, src + start, off, taps, run_length, sums, tail);
                    else /* one kernel row at a time: k accumulators */
                        for (int a = 0; a < k; a++)
                            NAME(tap_dots_run)(wide + start, src + start, off + a * k, k, run_length, sums + a * k, tail + a * k);
                }
                for (int t = 0; t < taps; t++) {
                    T total = tail[t];
                    for (int l = 0; l < LANES; l++) total += sums[t][l];
                    dw[c * taps + t] += (double)total;
                }
            }
            if (dx) {
                /* dx[y][x] = Σ_t w_t · wide[i − off_t] at the bordered position i of (y, x):
                   a correlation of the zero-extended gradient with the flipped kernel,
                   zero where the rectified input is (ReLU(x) > 0 exactly where x > 0). */
                T *target = dx + plane * h * w;
                for (long r = 0; r < h; r++) {
                    const long interior = (r + pad) * pw + pad;
                    NAME(output_row)(wide - reach + interior, off, flipped, taps, 1, w, NAME(overrun_lands_later)(r, w, h),
                                     relu ? src + interior : (const T *)0, target + r * w, row);
                }
            }
        }
    }
}

CLONED void NAME(dk_depthwise_forward)(const T *x, long samples, long run, long channels, long h, long w, int pad,
                                       const T *weights, int k, int d, int s, int relu, T *out, long oh, long ow, T *scratch) {
    if (k == 3) NAME(forward_planes)(x, samples, run, channels, h, w, pad, weights, 3, d, s, relu, out, oh, ow, scratch);
    else if (k == 5) NAME(forward_planes)(x, samples, run, channels, h, w, pad, weights, 5, d, s, relu, out, oh, ow, scratch);
    else NAME(forward_planes)(x, samples, run, channels, h, w, pad, weights, k, d, s, relu, out, oh, ow, scratch);
}

CLONED void NAME(dk_depthwise_backward)(const T *gy, const T *x, long samples, long run, long channels, long h, long w,
                                        int pad, const T *weights, int k, int d, int s, int relu, long oh, long ow, T *dx, double *dw,
                                        T *scratch) {
    if (k == 3) NAME(backward_planes)(gy, x, samples, run, channels, h, w, pad, weights, 3, d, s, relu, oh, ow, dx, dw, scratch);
    else if (k == 5) NAME(backward_planes)(gy, x, samples, run, channels, h, w, pad, weights, 5, d, s, relu, oh, ow, dx, dw, scratch);
    else NAME(backward_planes)(gy, x, samples, run, channels, h, w, pad, weights, k, d, s, relu, oh, ow, dx, dw, scratch);
}
