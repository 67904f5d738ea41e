/*
 * The plan a 3x3 or 5x5 kernel filter runs by (filter_kernel.c), shared with the row-at-a-time filter
 * (filter_kernel_rows.c). Private to Filters/.
 */
#ifndef IF_FILTER_KERNEL_H
#define IF_FILTER_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "filter_rational.h"

#pragma GCC visibility push(hidden)

/* One output row, binary32 path: rows[r] points at sample 0 of the binary32 image row y+h-r; samples [lo, hi)
   are computed, into d8 as clamped bytes when it is set, else into acc as floats. */
typedef void (*krow_fn)(const float *const *rows, const float *k, float off, size_t B, size_t lo, size_t hi,
                        uint8_t *d8, float *acc);

typedef struct dyadic {
    int s;           /* weights and offset are multiples of 2^-s */
    int16_t k[25];   /* weight * 2^s */
    int32_t off;     /* offset (with Pillow's +0.5) * 2^s */
} dyadic;

/* One output row of a dyadic kernel on 8-bit rows (rows[r]: image row y+h-r). */
typedef void (*drow_fn)(const uint8_t *const *rows, const dyadic *dy, size_t B, size_t lo, size_t hi, uint8_t *d8);

/* What a kernel filter works with on an image of `bands` bands and `sample_size`-byte samples: the binary32
   weights and offset, and the row function: an integer one on 8-bit samples when the kernel is dyadic (exact in
   binary32) or rational (filter_rational.h), else the binary32 one. */
typedef struct kernel_plan {
    int n, h;
    float k[25];
    float off;
    int is_dyadic;
    dyadic dy;
    drow_fn drow;
    int is_rational;
    if_rational_kernel rk;
    if_rational_row_fn rrow;
    krow_fn krow;
} kernel_plan;

void if_kernel_plan_make(const if_filter *f, size_t sample_size, kernel_plan *plan);

/* Output samples [lo, hi) of 8-bit row y through the plan's integer path (is_dyadic or is_rational). */
static inline void if_kernel_int_row(const kernel_plan *plan, const uint8_t *const *rows, size_t B, size_t lo,
                                     size_t hi, uint8_t *d8) {
    if (plan->is_dyadic) plan->drow(rows, &plan->dy, B, lo, hi, d8);
    else plan->rrow(rows, &plan->rk, B, lo, hi, d8);
}

/* filter_kernel_cross.c: 1 if the plan is a 3x3 kernel of zero corners and four equal edge weights (DETAIL). */
int if_kernel_cross_applies(const kernel_plan *plan);
/* The whole W x H 8-bit image of B bands through such a plan (borders left to the caller): 1 when done, 0 when
   this CPU or level has no version for it or the image is too small (the caller runs the general path), -1 when
   out of memory. */
int if_kernel_cross_apply(const kernel_plan *plan, const uint8_t *in, uint8_t *out, uint32_t W, uint32_t H,
                          uint32_t B);

/* filter_kernel_ring.c: the row function for a 3x3 or 5x5 rational kernel of concentric rings (SMOOTH,
   SMOOTH_MORE) on this CPU and level (filling rk's ring_products), or NULL (not such a kernel, or no version
   here); the same for an n x n dyadic kernel (5x5 only: BLUR). */
if_rational_row_fn if_kernel_ring_row(if_rational_kernel *rk);
drow_fn if_kernel_ring_dyadic_row(const dyadic *dy, int n);

#pragma GCC visibility pop

#endif
