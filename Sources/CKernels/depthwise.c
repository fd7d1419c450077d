#include "depthwise.h"
#include "vector_types.h"

/* Room past a bordered plane for the whole-vector overrun of its last row
   (at most one vector) and a dilated tap's reach beyond it. */
static inline long dk_depthwise_slack(long pitch) { return pitch + 16; }

/* Where tap (a, b) of a k×k kernel of dilation d reads in a bordered plane
   of row pitch pw, relative to the window's top-left corner. */
static inline void dk_tap_offsets(long *off, int k, int d, long pw) {
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) off[a * k + b] = (long)a * d * pw + (long)b * d;
}

/* The largest tap offset: how far a window reaches past its top-left corner. */
static inline long dk_tap_reach(int k, int d, long pw) { return (long)(k - 1) * d * pw + (long)(k - 1) * d; }

long dk_depthwise_scratch_count(long h, long w, int pad, int k, int d) {
    const long pw = w + 2 * pad, area = (h + 2 * pad) * pw, slack = dk_depthwise_slack(pw);
    const long reach = dk_tap_reach(k, d, pw);
    /* src, then reach + wide, then one row of whole vectors. */
    return (area + slack) + (reach + area + slack) + (pw + 16);
}

#define T float
#define V vf
#define LANES 8
#define NAME(x) x##_f
#include "depthwise_template.h"
#undef T
#undef V
#undef LANES
#undef NAME

#define T double
#define V vd
#define LANES 4
#define NAME(x) x##_d
#include "depthwise_template.h"
