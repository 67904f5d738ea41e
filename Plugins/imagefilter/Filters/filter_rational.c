/* Kernels of integer values, scale and offset (SMOOTH, SMOOTH_MORE, most Kernel(...)s) on 8-bit images, in
   16-bit integer lanes, with the results of Pillow's binary32 arithmetic.

   Why that is exact. Pillow's weights are k = fl(v / D), each within a relative 2^-24 of v / D, and its sum
   a = off + sum_r (p(r,0) k(r,0) + p(r,1) k(r,1) + ...) rounds each product and sum once, so each term passes
   at most 2n + 1 roundings (its weight, its product, n - 1 row sums, n sums into a): with g = 2n + 2 and
   u = 2^-24, |a - V| <= g u / (1 - g u) * (|off| + 255 sum |k|) where V = o + 1/2 + S / D, S = sum(v p), is the
   exact value (off = o + 1/2 is exact). V = N / den with N an integer: N = 2S + (2o + 1) D over den = 2D when
   D is odd, N = S + (2o + 1) D / 2 over den = D when D is even. Pillow's byte is clamp(trunc(a), 0, 255) after
   clamping a to [0, 255]. When den does not divide N, V is at least 1 / den away from every integer, so if the
   bound is below that, a and V have the same floor and lie on the same side of 0 and 255: the byte is
   clamp(floor(N / den), 0, 255). When den divides N (only possible for even D: N is odd for odd D) and
   1 <= N / den <= 255, a may fall on either side of that integer: such a "tie" is computed in binary32, in
   Pillow's order. (N / den <= 0 gives 0 and N / den >= 256 gives 255 on either side.)

   The sum S is exact in any order. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_rational.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

int if_rational_setup(const double *values, int n, double scale, double offset, const float *k, float off,
                      int min_tie_den, if_rational_kernel *rk) {
    const int nn = n * n;
    if (!(scale == floor(scale)) || scale == 0.0 || fabs(scale) > 16384.0) return 0;
    if (fmod(scale, 2.0) == 0.0 && fabs(scale) < (double)min_tie_den) return 0; /* ties, den = |scale| too small */
    if (!(offset == floor(offset)) || fabs(offset) > 16384.0) return 0;
    const double sign = scale < 0 ? -1.0 : 1.0; /* v / D = (-v) / (-D) exactly */
    const long D = (long)(scale * sign), o = (long)offset;
    const long den = D % 2 ? 2 * D : D, wmul = D % 2 ? 2 : 1;
    long c = (2 * o + 1) * (D % 2 ? D : D / 2), wpos = 0, wneg = 0;
    double ksum = 0;
    for (int i = 0; i < nn; i++) {
        const double v = values[i] * sign;
        if (!(v == floor(v)) || fabs(v) > 16384.0) return 0;
        const long w = (long)v * wmul;
        if (w > 0) wpos += w;
        else wneg -= w;
        rk->w[i] = (int16_t)(w < -32768 || w > 32767 ? 0 : w);
        if (w < -32768 || w > 32767) return 0;
        ksum += fabs((double)k[i]);
        rk->k[i] = k[i];
    }
    /* every partial sum of c + sum(w p) stays in int16 */
    if (c - 255 * wneg < -32768 || c + 255 * wpos > 32767 || den > 32767) return 0;
    const double g = 2.0 * n + 2.0, u = 1.0 / 16777216.0;
    const double bound = g * u / (1.0 - g * u) * (fabs((double)off) + 255.0 * ksum);
    if (!(2.0 * bound < 1.0 / (double)den)) return 0; /* a factor of 2 to spare */
    /* floor(N / den) for 0 <= N <= 32767 as a 16-bit multiply-high and a shift, checked for every N: as
       f(x) = (x m) >> (16 + shift) never decreases, it equals floor(x / den) everywhere when it does at both ends
       of each quotient's run, x = q den and x = q den + den - 1 (or 32767) */
    int found = 0;
    for (int shift = 0; shift <= 15 && !found; shift++) {
        const uint64_t m = ((1ull << (16 + shift)) + (uint64_t)den - 1) / (uint64_t)den;
        if (m > 65535) break;
        int ok = 1;
        for (uint32_t q = 0, x = 0; x <= 32767 && ok; q++, x += (uint32_t)den) {
            const uint32_t last = x + (uint32_t)den - 1 < 32767 ? x + (uint32_t)den - 1 : 32767;
            ok = ((x * m) >> (16 + shift)) == q && ((last * m) >> (16 + shift)) == q;
        }
        if (ok) {
            rk->magic = (uint16_t)m;
            rk->shift = shift;
            found = 1;
        }
    }
    if (!found) return 0;
    rk->n = n;
    rk->h = n / 2;
    rk->c = (int16_t)c;
    rk->den = (uint16_t)den;
    rk->ties = D % 2 == 0;
    rk->off = off;
    return 1;
}

static inline uint8_t clip8(float v) {
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)(int)v;
}

uint8_t if_rational_binary32(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j) {
    const int n = rk->n;
    float a = rk->off;
    for (int r = 0; r < n; r++) {
        const uint8_t *p = rows[r] + j - (size_t)rk->h * B;
        float t = (float)p[0] * rk->k[r * n];
        for (int c = 1; c < n; c++) t = t + (float)p[(size_t)c * B] * rk->k[r * n + c];
        a = a + t;
    }
    return clip8(a);
}

static uint8_t one_sample(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j) {
    const int n = rk->n;
    int32_t N = rk->c;
    for (int r = 0; r < n; r++) {
        const uint8_t *p = rows[r] + j - (size_t)rk->h * B;
        for (int c = 0; c < n; c++) N += (int32_t)p[(size_t)c * B] * rk->w[r * n + c];
    }
    if (N <= 0) return 0;
    const int32_t q = N / rk->den;
    if (rk->ties && q >= 1 && q <= 255 && q * rk->den == N) return if_rational_binary32(rows, rk, B, j);
    return (uint8_t)(q > 255 ? 255 : q);
}

/* 2 * LANES samples at a time without widening shuffles: each tap's 2 * LANES bytes are loaded as LANES 16-bit
   words, whose low bytes are the even samples' taps and high bytes the odd samples' (AND and shift). Per
   parity: N = c + sum(w * tap), q = floor(max(N, 0) / den) by multiply-high, clamped to 255; the two
   parities are joined back into bytes by a shift and an OR. Ties (lanes where den divides N, 1 <= q <= 255)
   are redone in binary32. */
#define RATIONAL_BODY(NN, VH, VU, LANES, MULHI, MOVEMASK)                                                    \
    do {                                                                                                     \
        const uint8_t *tp[NN];                                                                               \
        VH vw[NN];                                                                                           \
        for (int t = 0; t < NN; t++) {                                                                       \
            tp[t] = rows[t / rk->n] + (size_t)(t % rk->n) * B - (size_t)rk->h * B;                           \
            vw[t] = rk->w[t] - (VH){0};                                                                      \
        }                                                                                                    \
        const VH vc = rk->c - (VH){0}, vzero = {0}, vone = 1 - (VH){0}, v255 = 255 - (VH){0};                \
        const VH vden = (int16_t)rk->den - (VH){0};                                                          \
        const VU vmagic = rk->magic - (VU){0}, vlow = 255 - (VU){0};                                         \
        const int shift = rk->shift, ties = rk->ties;                                                        \
        /* the last step is moved back to end at hi (recomputing a few samples) when the row allows */       \
        for (size_t j = lo, next; j + 2 * LANES <= hi; j = next) {                                           \
            next = j + 2 * LANES;                                                                            \
            if (next < hi && next + 2 * LANES > hi) next = hi - 2 * LANES;                                   \
            VH a[2] = {vc, vc};                                                                              \
            _Pragma("GCC unroll 25") /* -O2 would unroll by 2 only */                                        \
            for (int t = 0; t < NN; t++) {                                                                   \
                VU x;                                                                                        \
                memcpy(&x, tp[t] + j, sizeof x);                                                             \
                a[0] += (VH)(x & vlow) * vw[t];                                                              \
                a[1] += (VH)(x >> 8) * vw[t];                                                                \
            }                                                                                                \
            VH q[2], tie[2];                                                                                 \
            for (int e = 0; e < 2; e++) {                                                                    \
                a[e] &= a[e] > vzero;                                                                        \
                q[e] = (VH)(MULHI((VU)a[e], vmagic) >> shift);                                               \
                tie[e] = (q[e] * vden == a[e]) & (q[e] >= vone) & (q[e] <= v255);                            \
                const VH big = q[e] > v255;                                                                  \
                q[e] = (q[e] & ~big) | (v255 & big);                                                         \
            }                                                                                                \
            const VU bytes = (VU)q[0] | ((VU)q[1] << 8);                                                     \
            memcpy(d8 + j, &bytes, sizeof bytes);                                                            \
            if (ties)                                                                                        \
                for (int e = 0; e < 2; e++)                                                                  \
                    for (unsigned bits = (unsigned)MOVEMASK(tie[e]); bits; bits &= bits - 1) {               \
                        const size_t l = (size_t)__builtin_ctz(bits) / 2 * 2 + (size_t)e; /* 2 bits a lane */ \
                        bits &= bits - 1;                                                                    \
                        d8[j + l] = if_rational_binary32(rows, rk, B, j + l);                                     \
                    }                                                                                        \
        }                                                                                                    \
        if (hi - lo < 2 * LANES)                                                                             \
            for (size_t j = lo; j < hi; j++) d8[j] = one_sample(rows, rk, B, j);                             \
    } while (0)

typedef int16_t v8h __attribute__((vector_size(16)));
typedef uint16_t v8hu __attribute__((vector_size(16)));
typedef int16_t v16h __attribute__((vector_size(32)));
typedef uint16_t v16hu __attribute__((vector_size(32)));

#ifdef IF_X86
#define MULHI_SSE2(a, b) ((v8hu)_mm_mulhi_epu16((__m128i)(a), (__m128i)(b)))
#define MOVEMASK_SSE2(m) _mm_movemask_epi8((__m128i)(m))
#define MULHI_AVX2(a, b) ((v16hu)_mm256_mulhi_epu16((__m256i)(a), (__m256i)(b)))
#define MOVEMASK_AVX2(m) _mm256_movemask_epi8((__m256i)(m))

#define RATIONAL_FNS(N)                                                                                      \
    static void rational_row##N##_base(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B,   \
                                       size_t lo, size_t hi, uint8_t *d8) {                                  \
        RATIONAL_BODY(N * N, v8h, v8hu, 8, MULHI_SSE2, MOVEMASK_SSE2);                                       \
    }                                                                                                        \
    __attribute__((target("avx2"))) static void rational_row##N##_avx2(                                      \
        const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t lo, size_t hi, uint8_t *d8) { \
        RATIONAL_BODY(N * N, v16h, v16hu, 16, MULHI_AVX2, MOVEMASK_AVX2);                                    \
    }
RATIONAL_FNS(3)
RATIONAL_FNS(5)
#else
static void rational_row_scalar(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t lo,
                                size_t hi, uint8_t *d8) {
    for (size_t j = lo; j < hi; j++) d8[j] = one_sample(rows, rk, B, j);
}
#endif

if_rational_row_fn if_rational_row(int n) {
#ifdef IF_X86
    if (if_filter_use_avx2()) return n == 3 ? rational_row3_avx2 : rational_row5_avx2;
    return n == 3 ? rational_row3_base : rational_row5_base;
#else
    (void)n;
    return rational_row_scalar;
#endif
}
