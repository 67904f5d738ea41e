/*
 * Integer kernels whose binary32 result is known without computing it (filter_rational.c), for
 * filter_kernel.c. Private to Filters/.
 */
#ifndef IF_FILTER_RATIONAL_H
#define IF_FILTER_RATIONAL_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* A 3x3 or 5x5 kernel of integer values v, integer scale D and integer offset o on 8-bit samples. Pillow's
   binary32 sum is then within a proven bound of the rational V = o + 1/2 + sum(v * p) / D = N / den, N an integer
   (see filter_rational.c); when that bound is below 1/den, truncating Pillow's sum gives floor(N / den) except
   where N / den is itself an integer ("ties", possible only for even D), which are computed in binary32. */
typedef struct if_rational_kernel {
    int n, h;
    int16_t w[25];  /* integer weight of each tap, row by row (kernel row r meets image row y + h - r) */
    int16_t c;      /* integer offset: N = c + sum(w * p) */
    uint16_t den;   /* V = N / den */
    uint16_t magic; /* floor(N / den) = (N * magic) >> (16 + shift) for 0 <= N <= 32767 */
    int shift;
    int ties;       /* 1 if some N / den can be an integer in 1..255 (even D): those samples take binary32 */
    float k[25];    /* Pillow's binary32 weights and offset, for the ties */
    float off;
    /* filter_kernel_ring.c, for a kernel of concentric rings: fl(p * k) for every sample p and the outer, inner
       and centre weights (its ties' products, looked up) */
    float ring_products[3][256];
} if_rational_kernel;

/** 1 and fills rk when the kernel qualifies (8-bit samples, integer values, scale and offset, the error bound
 *  and 16-bit range hold, and an even scale, which has ties, is at least min_tie_den), else 0. k and off are the
 *  binary32 weights and offset Pillow uses. */
int if_rational_setup(const double *values, int n, double scale, double offset, const float *k, float off,
                      int min_tie_den, if_rational_kernel *rk);

/** Sample j of one row in Pillow's binary32 order (for the ties); rows[r] is the 8-bit image row y + h - r. */
uint8_t if_rational_binary32(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j);

/* Output samples [lo, hi) of one row; rows[r] is the 8-bit image row y + h - r. */
typedef void (*if_rational_row_fn)(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t lo,
                                   size_t hi, uint8_t *d8);
/** The row function for an n x n kernel on this CPU (AVX2 when if_filter_use_avx2(), else SSE2 / portable). */
if_rational_row_fn if_rational_row(int n);

#pragma GCC visibility pop

#endif
