/* 3x3 and 5x5 convolution (builtins and Kernel), Pillow's binary32 arithmetic.

   Per output sample Pillow computes, in binary32 without FMA:
       acc = off; for r in 0..n-1: t = p(r,0)*k[r][0] + p(r,1)*k[r][1] + ... (left to right); acc = acc + t
   where kernel row r meets image row y+h-r. The binary32 path below keeps exactly that order per sample and
   only vectorises across samples (lanes), so every lane equals the scalar expression bit for bit. It leaves
   out taps of weight 0: p * 0 is +0 for the finite samples an image holds, and t + 0 is t (up to the sign
   of a zero, which the clamps below turn into 0 either way).

   8-bit images whose kernel is "dyadic" (every weight, and the offset, a multiple of 2^-s with all
   partial sums small) take an integer path: there every binary32 product and sum is exact, so the
   float result equals the integer sum / 2^s and clamping/truncation can be done on integers. Kernels of
   integer values, scale and offset take the integer path of filter_rational.c instead when its error bound
   holds (SMOOTH, SMOOTH_MORE).

   Two shapes have their own files: DETAIL's equal-armed cross in binary32 (filter_kernel_cross.c) and
   concentric rings on the rational and dyadic paths (filter_kernel_ring.c: SMOOTH, SMOOTH_MORE, BLUR), each
   with AVX2 and AVX-512 versions; without them (or at the baseline level) the paths here run.

   Over 400 lines on purpose: the float and dyadic paths and their SSE2 and AVX2 row kernels share one kernel
   plan (filter_kernel.h); the row-at-a-time filter for the JPEG pipeline is filter_kernel_rows.c. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_kernel.h"

/* A rational kernel whose ties (filter_rational.c) can occur, one sample in den or so, takes the integer path
   only when den is at least this: below it (DETAIL's den is 6) redoing the ties costs more than it saves. */
#define RATIONAL_MIN_TIE_DEN 64

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef int16_t v8h __attribute__((vector_size(16)));


/* Macros, not functions: returning 32-byte vectors from functions would change the ABI without AVX. */
#define ld8(p) (__extension__({ v8f v_; memcpy(&v_, (p), sizeof v_); v_; }))
#define splat8(x) ((v8f){(x), (x), (x), (x), (x), (x), (x), (x)})
#define ld4(p) (__extension__({ v4f v_; memcpy(&v_, (p), sizeof v_); v_; }))
#define splat4(x) ((v4f){(x), (x), (x), (x)})

/* Loads one image row as binary32 samples. */
static void load_row(const if_image *in, uint32_t y, float *dst) {
    size_t n = (size_t)in->width * in->bands;
    if (in->sample_size == 1) {
        const uint8_t *s = in->pixels + (size_t)y * n;
        for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
    } else if (in->sample_size == 2) {
        const uint16_t *s = (const uint16_t *)(const void *)in->pixels + (size_t)y * n;
        for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
    } else {
        const int32_t *s = (const int32_t *)(const void *)in->pixels + (size_t)y * n;
        for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
    }
}

static inline uint8_t clip8(float v) {
    v = v > 0.0f ? v : 0.0f; /* NaN -> 0, like the low byte of x86's 0x80000000 */
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)(int)v;
}

/* Stores samples [lo, hi) of a 16- or 32-bit output row, clamped and truncated the way Pillow does. */
static void store_row_wide(if_image *out, uint32_t y, const float *acc, size_t lo, size_t hi) {
    size_t n = (size_t)out->width * out->bands;
    if (out->sample_size == 2) {
        uint16_t *d = (uint16_t *)(void *)out->pixels + (size_t)y * n;
        for (size_t i = lo; i < hi; i++) {
            float v = acc[i];
            v = v > 0.0f ? v : 0.0f;
            v = v < 65535.0f ? v : 65535.0f;
            d[i] = (uint16_t)(int)v;
        }
    } else {
        int32_t *d = (int32_t *)(void *)out->pixels + (size_t)y * n;
        for (size_t i = lo; i < hi; i++) {
            float v = acc[i];
            int32_t r;
            if (v != v) r = INT32_MIN; /* x86 "integer indefinite" */
            else if (v <= 0.0f) r = 0;
            else if (v >= 2147483647.0f) r = INT32_MAX;
            else r = (int32_t)v;
            d[i] = r;
        }
    }
}

/* Narrowing stores (GCC scalarises __builtin_convertvector to bytes): floats already clamped to [0, 255] ->
   truncated -> bytes; 16 int16 in [0, 255] -> 16 bytes. */
#ifdef IF_X86
/* Two vectors at once: 2 x 4 or 2 x 8 floats in [0, 255] -> 8 or 16 bytes. */
#define STORE4X2_SSE2(dst, a, b)                                                                             \
    do {                                                                                                     \
        __m128i w_ = _mm_packs_epi32(_mm_cvttps_epi32((__m128)(a)), _mm_cvttps_epi32((__m128)(b)));          \
        _mm_storel_epi64((__m128i *)(void *)(dst), _mm_packus_epi16(w_, w_));                                \
    } while (0)
#define STORE8X2_AVX2(dst, a, b)                                                                             \
    do {                                                                                                     \
        __m256i w_ = _mm256_packs_epi32(_mm256_cvttps_epi32((__m256)(a)), _mm256_cvttps_epi32((__m256)(b))); \
        w_ = _mm256_permute4x64_epi64(w_, 0xD8);                                                             \
        _mm_storeu_si128((__m128i *)(void *)(dst),                                                           \
                         _mm_packus_epi16(_mm256_castsi256_si128(w_), _mm256_extracti128_si256(w_, 1)));     \
    } while (0)
#define STORE16_AVX2(dst, a)                                                                                 \
    do {                                                                                                     \
        __m256i q_ = (__m256i)(a);                                                                           \
        _mm_storeu_si128((__m128i *)(void *)(dst),                                                           \
                         _mm_packus_epi16(_mm256_castsi256_si128(q_), _mm256_extracti128_si256(q_, 1)));     \
    } while (0)
#else
#define STORE4X2_SSE2(dst, a, b)                                                                             \
    do {                                                                                                     \
        v4i p_ = __builtin_convertvector((a), v4i), q_ = __builtin_convertvector((b), v4i);                  \
        for (int l_ = 0; l_ < 4; l_++) {                                                                     \
            (dst)[l_] = (uint8_t)p_[l_];                                                                     \
            (dst)[4 + l_] = (uint8_t)q_[l_];                                                                 \
        }                                                                                                    \
    } while (0)
#endif

/* Samples [lo, hi) one at a time, for rows too short for a vector step. */
static void krow_scalar(int N, const float *const *rows, const float *k, float off, size_t B, size_t lo, size_t hi,
                        uint8_t *d8, float *acc) {
    for (size_t j = lo; j < hi; j++) {
        float a = off;
        for (int r = 0; r < N; r++) {
            const float *p = rows[r] + j - (size_t)(N / 2) * B;
            float t = p[0] * k[r * N];
            for (int c = 1; c < N; c++) t = t + p[(size_t)c * B] * k[r * N + c];
            a = a + t;
        }
        if (d8) d8[j] = clip8(a);
        else acc[j] = a;
    }
}

/* Clamps the binary32 lanes of a and b (samples j and j + LANES) to [0, 255] as Pillow does and stores them
   as bytes (into d8), or stores them unclamped into acc. */
#define KROW_CLAMP(VF, VI, a)                                                                                \
    do {                                                                                                     \
        VI m_ = (a) > vzero;                                                                                 \
        (a) = (VF)((VI)(a) & m_);                                                                            \
        m_ = (a) < v255;                                                                                     \
        (a) = (VF)(((VI)(a) & m_) | ((VI)v255 & ~m_));                                                       \
    } while (0)
#define KROW_FINISH(VF, VI, STORE2, LANES)                                                                   \
    do {                                                                                                     \
        if (d8) {                                                                                            \
            KROW_CLAMP(VF, VI, a);                                                                           \
            KROW_CLAMP(VF, VI, b);                                                                           \
            STORE2(d8 + j, a, b);                                                                            \
        } else {                                                                                             \
            memcpy(acc + j, &a, sizeof a);                                                                   \
            memcpy(acc + j + LANES, &b, sizeof b);                                                           \
        }                                                                                                    \
    } while (0)

/* One output row, float path. rows[r] points at sample 0 of the binary32 image row y+h-r; samples
   [lo, hi) are computed, 2 * LANES a step (the last step moved back to end at hi: outputs never alias the
   rows). If d8 is set, results go there as clamped bytes, else into acc as floats. */
#define KROW_BODY(N, STORE2, VF, VI, LD, SPLAT, LANES)                                                       \
    do {                                                                                                     \
        VF vk[N * N];                                                                                        \
        for (int i = 0; i < N * N; i++) vk[i] = SPLAT(k[i]);                                                 \
        const VF voff = SPLAT(off), vzero = SPLAT(0.0f), v255 = SPLAT(255.0f);                               \
        for (size_t j = lo, next; j + 2 * LANES <= hi; j = next) {                                           \
            next = j + 2 * LANES;                                                                            \
            if (next < hi && next + 2 * LANES > hi) next = hi - 2 * LANES;                                   \
            VF a = voff, b = voff;                                                                           \
            for (int r = 0; r < N; r++) {                                                                    \
                const float *p = rows[r] + j - (size_t)(N / 2) * B;                                          \
                VF t = LD(p) * vk[r * N], u = LD(p + LANES) * vk[r * N];                                     \
                for (int c = 1; c < N; c++) {                                                                \
                    t = t + LD(p + (size_t)c * B) * vk[r * N + c];                                           \
                    u = u + LD(p + LANES + (size_t)c * B) * vk[r * N + c];                                   \
                }                                                                                            \
                a = a + t;                                                                                   \
                b = b + u;                                                                                   \
            }                                                                                                \
                        KROW_FINISH(VF, VI, STORE2, LANES);                                                  \
        }                                                                                                    \
        if (hi - lo < 2 * LANES) krow_scalar(N, rows, k, off, B, lo, hi, d8, acc);                           \
    } while (0)

/* KROW_BODY for a 3x3 kernel whose corners weigh 0 (DETAIL): the products of zero weights are left out (with
   p * 0 = +0 for the finite samples of an image, t + 0 is t, up to the sign of a zero, which the clamps turn
   into 0 either way), so row 0 is t = p(0,1) k1, row 1 is t = (p(1,0) k3 + p(1,1) k4) + p(1,2) k5 and row 2 is
   t = p(2,1) k7, summed into off in that order as Pillow does. */
#define KROW_CROSS_BODY(STORE2, VF, VI, LD, SPLAT, LANES)                                                    \
    do {                                                                                                     \
        const VF k1 = SPLAT(k[1]), k3 = SPLAT(k[3]), k4 = SPLAT(k[4]), k5 = SPLAT(k[5]), k7 = SPLAT(k[7]);   \
        const VF voff = SPLAT(off), vzero = SPLAT(0.0f), v255 = SPLAT(255.0f);                               \
        for (size_t j = lo, next; j + 2 * LANES <= hi; j = next) {                                           \
            next = j + 2 * LANES;                                                                            \
            if (next < hi && next + 2 * LANES > hi) next = hi - 2 * LANES;                                   \
            VF a, b;                                                                                         \
            {                                                                                                \
                const float *p0 = rows[0] + j, *p1 = rows[1] + j, *p2 = rows[2] + j;                         \
                a = voff + LD(p0) * k1;                                                                      \
                b = voff + LD(p0 + LANES) * k1;                                                              \
                a = a + ((LD(p1 - B) * k3 + LD(p1) * k4) + LD(p1 + B) * k5);                                 \
                b = b + ((LD(p1 + LANES - B) * k3 + LD(p1 + LANES) * k4) + LD(p1 + LANES + B) * k5);         \
                a = a + LD(p2) * k7;                                                                         \
                b = b + LD(p2 + LANES) * k7;                                                                 \
            }                                                                                                \
            KROW_FINISH(VF, VI, STORE2, LANES);                                                              \
        }                                                                                                    \
        if (hi - lo < 2 * LANES) krow_scalar(3, rows, k, off, B, lo, hi, d8, acc);                           \
    } while (0)

static void krow3_base(const float *const *rows, const float *k, float off, size_t B, size_t lo, size_t hi,
                       uint8_t *d8, float *acc) {
    KROW_BODY(3, STORE4X2_SSE2, v4f, v4i, ld4, splat4, 4);
}
static void krow5_base(const float *const *rows, const float *k, float off, size_t B, size_t lo, size_t hi,
                       uint8_t *d8, float *acc) {
    KROW_BODY(5, STORE4X2_SSE2, v4f, v4i, ld4, splat4, 4);
}
static void krow3_cross_base(const float *const *rows, const float *k, float off, size_t B, size_t lo, size_t hi,
                             uint8_t *d8, float *acc) {
    KROW_CROSS_BODY(STORE4X2_SSE2, v4f, v4i, ld4, splat4, 4);
}
#ifdef IF_X86
__attribute__((target("avx2"))) static void krow3_cross_avx2(const float *const *rows, const float *k, float off,
                                                             size_t B, size_t lo, size_t hi, uint8_t *d8, float *acc) {
    KROW_CROSS_BODY(STORE8X2_AVX2, v8f, v8i, ld8, splat8, 8);
}
__attribute__((target("avx2"))) static void krow3_avx2(const float *const *rows, const float *k, float off, size_t B,
                                                       size_t lo, size_t hi, uint8_t *d8, float *acc) {
    KROW_BODY(3, STORE8X2_AVX2, v8f, v8i, ld8, splat8, 8);
}
__attribute__((target("avx2"))) static void krow5_avx2(const float *const *rows, const float *k, float off, size_t B,
                                                       size_t lo, size_t hi, uint8_t *d8, float *acc) {
    KROW_BODY(5, STORE8X2_AVX2, v8f, v8i, ld8, splat8, 8);
}
#endif

/* ---- integer path for dyadic kernels on 8-bit images ---- */


/* Finds s such that all binary32 products and partial sums are exact integers / 2^s and every integer
   sum fits int16 (so the 16-bit lanes below never overflow either). */
static int dyadic_setup(const float *k, int nk, float off, dyadic *dy) {
    for (int s = 0; s <= 7; s++) { /* 255 << 7 still fits int16 */
        const float sc = (float)(1 << s);
        double bound = fabs((double)off) * sc;
        int ok = 1;
        for (int i = 0; i < nk && ok; i++) {
            float v = k[i] * sc;
            if (!isfinite(v) || v != floorf(v) || fabsf(v) > 127.0f) ok = 0;
            else bound += 255.0 * fabs((double)v);
        }
        float o = off * sc;
        if (!ok || !isfinite(o) || o != floorf(o)) continue;
        if (bound > 32767.0) return 0; /* a bigger s only makes it larger */
        dy->s = s;
        for (int i = 0; i < nk; i++) dy->k[i] = (int16_t)(k[i] * sc);
        dy->off = (int32_t)o;
        return 1;
    }
    return 0;
}

/* Clamps 16-bit sums to [0, vhi], shifts out the kernel's power-of-two
 * divisor `s` and stores the 8-bit samples (vzero, vhi and s in scope). */
#define CLAMP_SHIFT_STORE16(STORE16, VH, a, dst)                                                             \
    do {                                                                                                     \
        VH m_ = (a) > vzero;                                                                                 \
        (a) = (a) & m_;                                                                                      \
        m_ = (a) < vhi;                                                                                      \
        (a) = ((a) & m_) | (vhi & ~m_);                                                                      \
        (a) = (a) >> s;                                                                                      \
        STORE16(dst, a);                                                                                     \
    } while (0)

/* One output row of a dyadic kernel. rows[r]: 8-bit image row y+h-r. The sum of integers is exact in any
   order, so here the terms are simply accumulated in 16-bit lanes. */
#define DROW_BODY(N, STORE16, LOAD16, VH, LANES)                                                             \
    do {                                                                                                     \
        const int s = dy->s;                                                                                 \
        const int16_t hiv = (int16_t)(255 << s);                                                             \
        VH vk[N * N];                                                                                        \
        for (int i = 0; i < N * N; i++) {                                                                    \
            int16_t w = dy->k[i];                                                                            \
            vk[i] = w - (VH){0};                                                                             \
        }                                                                                                    \
        const int16_t o = (int16_t)dy->off;                                                                  \
        const VH voff = o - (VH){0};                                                                         \
        const VH vzero = {0}, vhi = hiv - (VH){0};                                                           \
        size_t j = lo;                                                                                       \
        for (; j + LANES <= hi; j += LANES) {                                                                \
            VH a = voff;                                                                                     \
            for (int r = 0; r < N; r++) {                                                                    \
                const uint8_t *p = rows[r] + j - (size_t)(N / 2) * B;                                        \
                for (int c = 0; c < N; c++) {                                                                \
                    if (!dy->k[r * N + c]) continue;                                                         \
                    a = a + LOAD16(p + (size_t)c * B) * vk[r * N + c];                                       \
                }                                                                                            \
            }                                                                                                \
            CLAMP_SHIFT_STORE16(STORE16, VH, a, d8 + j);                                                     \
        }                                                                                                    \
        for (; j < hi; j++) {                                                                                \
            int32_t a = dy->off;                                                                             \
            for (int r = 0; r < N; r++) {                                                                    \
                const uint8_t *p = rows[r] + j - (size_t)(N / 2) * B;                                        \
                for (int c = 0; c < N; c++) a += (int32_t)p[(size_t)c * B] * dy->k[r * N + c];               \
            }                                                                                                \
            d8[j] = (uint8_t)(a <= 0 ? 0 : a >= (255 << s) ? 255 : a >> s);                                  \
        }                                                                                                    \
    } while (0)

typedef int16_t v16s __attribute__((vector_size(32)));

/* AVX2: 16 bytes widened to 16 int16 lanes. */
#ifdef IF_X86
#define LOAD16_AVX2(p) ((v16s)_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p))))
#endif

/* SSE2: 8 bytes widened to 8 int16 lanes; 8 int16 in [0, 255] -> 8 bytes. */
#ifdef IF_X86
#define LOAD8H_SSE2(p) ((v8h)_mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(const void *)(p)), _mm_setzero_si128()))
#define STORE8H_SSE2(dst, a) _mm_storel_epi64((__m128i *)(void *)(dst), _mm_packus_epi16((__m128i)(a), (__m128i)(a)))
#else
#define LOAD8H_SSE2(p)                                                                                       \
    (__extension__({                                                                                         \
        const uint8_t *q_ = (const uint8_t *)(p);                                                            \
        (v8h){q_[0], q_[1], q_[2], q_[3], q_[4], q_[5], q_[6], q_[7]};                                       \
    }))
#define STORE8H_SSE2(dst, a)                                                                                 \
    do {                                                                                                     \
        for (int l_ = 0; l_ < 8; l_++) (dst)[l_] = (uint8_t)(a)[l_];                                         \
    } while (0)
#endif


static void drow3_base(const uint8_t *const *rows, const dyadic *dy, size_t B, size_t lo, size_t hi, uint8_t *d8) {
    DROW_BODY(3, STORE8H_SSE2, LOAD8H_SSE2, v8h, 8);
}
static void drow5_base(const uint8_t *const *rows, const dyadic *dy, size_t B, size_t lo, size_t hi, uint8_t *d8) {
    DROW_BODY(5, STORE8H_SSE2, LOAD8H_SSE2, v8h, 8);
}
#ifdef IF_X86
__attribute__((target("avx2"))) static void drow3_avx2(const uint8_t *const *rows, const dyadic *dy, size_t B,
                                                       size_t lo, size_t hi, uint8_t *d8) {
    DROW_BODY(3, STORE16_AVX2, LOAD16_AVX2, v16s, 16);
}
__attribute__((target("avx2"))) static void drow5_avx2(const uint8_t *const *rows, const dyadic *dy, size_t B,
                                                       size_t lo, size_t hi, uint8_t *d8) {
    DROW_BODY(5, STORE16_AVX2, LOAD16_AVX2, v16s, 16);
}
#endif

/* A 3x3 dyadic kernel whose four corners weigh the same and whose four edge neighbours weigh the same (CONTOUR,
   SHARPEN, FIND_EDGES, the EDGE_ENHANCEs, ...): three sums and three multiplies per lane group instead of nine
   multiplies. The integer sum is exact in any order, so the result is DROW_BODY's. */
#define DSYM3_BODY(STORE16, LOAD16, VH, LANES)                                                               \
    do {                                                                                                     \
        const int s = dy->s;                                                                                 \
        const int16_t hiv = (int16_t)(255 << s);                                                             \
        const VH wc = dy->k[4] - (VH){0}, we = dy->k[1] - (VH){0}, wk = dy->k[0] - (VH){0};                  \
        const VH voff = (int16_t)dy->off - (VH){0}, vzero = {0}, vhi = hiv - (VH){0};                        \
        const uint8_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];                                           \
        size_t j = lo;                                                                                       \
        for (; j + LANES <= hi; j += LANES) {                                                                \
            VH corners = (LOAD16(r0 + j - B) + LOAD16(r0 + j + B)) + (LOAD16(r2 + j - B) + LOAD16(r2 + j + B)); \
            VH edges = (LOAD16(r0 + j) + LOAD16(r2 + j)) + (LOAD16(r1 + j - B) + LOAD16(r1 + j + B));        \
            VH a = voff + LOAD16(r1 + j) * wc + edges * we + corners * wk;                                   \
            CLAMP_SHIFT_STORE16(STORE16, VH, a, d8 + j);                                                     \
        }                                                                                                    \
        for (; j < hi; j++) {                                                                                \
            int32_t a = dy->off;                                                                             \
            for (int r = 0; r < 3; r++) {                                                                    \
                const uint8_t *p = rows[r] + j - B;                                                          \
                for (int c = 0; c < 3; c++) a += (int32_t)p[(size_t)c * B] * dy->k[r * 3 + c];               \
            }                                                                                                \
            d8[j] = (uint8_t)(a <= 0 ? 0 : a >= (255 << s) ? 255 : a >> s);                                  \
        }                                                                                                    \
    } while (0)

static void dsym3_base(const uint8_t *const *rows, const dyadic *dy, size_t B, size_t lo, size_t hi, uint8_t *d8) {
    DSYM3_BODY(STORE8H_SSE2, LOAD8H_SSE2, v8h, 8);
}
#ifdef IF_X86
/* AVX2: the nine widening loads per 16 samples are what DSYM3_BODY spends its time on (shuffle ports). Here
   each input sample is widened once per output row instead: over a chunk of the row, V = row above + row below
   and W = the middle row go to 16-bit scratch arrays; then corners = V[j-B] + V[j+B], edge neighbours =
   V[j] + W[j-B] + W[j+B], centre = W[j], all plain loads. */
#define SYM3_CHUNK 1024
__attribute__((target("avx2"))) static void dsym3_avx2(const uint8_t *const *rows, const dyadic *dy, size_t B,
                                                       size_t lo, size_t hi, uint8_t *d8) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i wc = _mm256_set1_epi16(dy->k[4]), we = _mm256_set1_epi16(dy->k[1]), wk = _mm256_set1_epi16(dy->k[0]);
    const __m256i voff = _mm256_set1_epi16((int16_t)dy->off), vhi = _mm256_set1_epi16((int16_t)(255 << dy->s));
    const __m128i shift = _mm_cvtsi32_si128(dy->s);
    /* All eight neighbours weigh the same: centre * (wc - we) + we * (sum of all nine). */
    const int ring = dy->k[0] == dy->k[1];
    const __m256i wcr = _mm256_set1_epi16((int16_t)(dy->k[4] - dy->k[1]));
    const uint8_t *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
    /* v[i], w[i] hold samples c0 - B + i */
    int16_t v[SYM3_CHUNK + 8 + 16], w[SYM3_CHUNK + 8 + 16];
#define LD16(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define WIDEN(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
    size_t c0 = lo, c1;
    for (; c0 + 32 <= hi; c0 = c1) {
        /* a whole number of 32-sample steps; the rest, under 32, is left to dsym3_base */
        c1 = c0 + (hi - c0 < SYM3_CHUNK ? (hi - c0) / 32 * 32 : SYM3_CHUNK);
        /* scratch for samples [c0 - B, c1 + B) */
        const size_t from = c0 - B, count = c1 - c0 + 2 * B;
        size_t i = 0;
        /* ring: v = the three rows' sum (the 3x3 sum is then v[j-B] + v[j] + v[j+B]) */
        for (; i + 16 <= count; i += 16) {
            __m256i above = WIDEN(r0 + from + i), below = WIDEN(r2 + from + i), middle = WIDEN(r1 + from + i);
            __m256i sum = _mm256_add_epi16(above, below);
            if (ring) sum = _mm256_add_epi16(sum, middle);
            _mm256_storeu_si256((__m256i *)(void *)(v + i), sum);
            _mm256_storeu_si256((__m256i *)(void *)(w + i), middle);
        }
        for (; i < count; i++) {
            v[i] = (int16_t)(r0[from + i] + r2[from + i] + (ring ? r1[from + i] : 0));
            w[i] = r1[from + i];
        }
        if (ring) {
            for (size_t j = c0; j < c1; j += 32) {
                const size_t x = j - from;
                __m256i half[2];
                for (int h = 0; h < 2; h++) {
                    const size_t e = x + (size_t)h * 16;
                    __m256i all = _mm256_add_epi16(_mm256_add_epi16(LD16(v + e - B), LD16(v + e + B)), LD16(v + e));
                    __m256i a = _mm256_add_epi16(_mm256_add_epi16(voff, _mm256_mullo_epi16(LD16(w + e), wcr)),
                                                 _mm256_mullo_epi16(all, we));
                    half[h] = _mm256_sra_epi16(_mm256_min_epi16(_mm256_max_epi16(a, zero), vhi), shift);
                }
                __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(half[0], half[1]), 0xD8);
                _mm256_storeu_si256((__m256i *)(void *)(d8 + j), bytes);
            }
            continue;
        }
        for (size_t j = c0; j < c1; j += 32) {
            const size_t x = j - from; /* scratch index of sample j */
            __m256i half[2];
            for (int h = 0; h < 2; h++) {
                const size_t e = x + (size_t)h * 16;
                __m256i corners = _mm256_add_epi16(LD16(v + e - B), LD16(v + e + B));
                __m256i edges = _mm256_add_epi16(LD16(v + e), _mm256_add_epi16(LD16(w + e - B), LD16(w + e + B)));
                __m256i a = _mm256_add_epi16(_mm256_add_epi16(voff, _mm256_mullo_epi16(LD16(w + e), wc)),
                                             _mm256_add_epi16(_mm256_mullo_epi16(edges, we),
                                                              _mm256_mullo_epi16(corners, wk)));
                half[h] = _mm256_sra_epi16(_mm256_min_epi16(_mm256_max_epi16(a, zero), vhi), shift);
            }
            __m256i bytes = _mm256_permute4x64_epi64(_mm256_packus_epi16(half[0], half[1]), 0xD8);
            _mm256_storeu_si256((__m256i *)(void *)(d8 + j), bytes);
        }
    }
#undef LD16
#undef WIDEN
    if (c0 < hi) dsym3_base(rows, dy, B, c0, hi, d8);
}
#endif

static int symmetric3(const dyadic *dy) {
    const int16_t *k = dy->k;
    return k[0] == k[2] && k[0] == k[6] && k[0] == k[8] && k[1] == k[3] && k[1] == k[5] && k[1] == k[7];
}


void if_kernel_plan_make(const if_filter *f, size_t sample_size, kernel_plan *plan) {
    const int n = f->kw;
    plan->n = n;
    plan->h = n / 2;
    const float div = (float)f->scale;
    for (int i = 0; i < n * n; i++) plan->k[i] = (float)f->kvalues[i] / div;
    plan->off = (float)f->offset + 0.5f;
    const int avx2 = if_filter_use_avx2();
    (void)avx2; /* unused without x86 */
    plan->is_dyadic = sample_size == 1 && dyadic_setup(plan->k, n * n, plan->off, &plan->dy);
    plan->drow = n == 3 ? drow3_base : drow5_base;
    plan->krow = n == 3 ? krow3_base : krow5_base;
#ifdef IF_X86
    if (avx2) {
        plan->drow = n == 3 ? drow3_avx2 : drow5_avx2;
        plan->krow = n == 3 ? krow3_avx2 : krow5_avx2;
    }
#endif
    if (n == 3 && plan->k[0] == 0.0f && plan->k[2] == 0.0f && plan->k[6] == 0.0f && plan->k[8] == 0.0f) {
        plan->krow = krow3_cross_base;
#ifdef IF_X86
        if (avx2) plan->krow = krow3_cross_avx2;
#endif
    }
    plan->is_rational = !plan->is_dyadic && sample_size == 1 &&
                        if_rational_setup(f->kvalues, n, f->scale, f->offset, plan->k, plan->off,
                                          RATIONAL_MIN_TIE_DEN, &plan->rk);
    plan->rrow = if_rational_row(n);
    if (plan->is_rational) {
        const if_rational_row_fn ring = if_kernel_ring_row(&plan->rk);
        if (ring) plan->rrow = ring;
    }
    if (plan->is_dyadic) {
        const drow_fn ring = if_kernel_ring_dyadic_row(&plan->dy, n);
        if (ring) plan->drow = ring;
    }
    if (plan->is_dyadic && n == 3 && symmetric3(&plan->dy)) {
        plan->drow = dsym3_base;
#ifdef IF_X86
        if (avx2) plan->drow = dsym3_avx2;
#endif
    }
}

int if_kernel_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const int n = f->kw, h = n / 2;
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const size_t rowlen = (size_t)W * B, ss = in->sample_size;
    /* Borders are the input's samples: copy the h top and bottom rows and the h left and right columns. */
    {
        const size_t rb = rowlen * ss, hb = (size_t)h * B * ss;
        for (uint32_t y = 0; y < H; y++) {
            const uint8_t *s = in->pixels + (size_t)y * rb;
            uint8_t *d = out->pixels + (size_t)y * rb;
            if (y < (uint32_t)h || y + (uint32_t)h >= H) {
                memcpy(d, s, rb);
            } else {
                memcpy(d, s, hb);
                memcpy(d + rb - hb, s + rb - hb, hb);
            }
        }
    }
    kernel_plan plan;
    if_kernel_plan_make(f, ss, &plan);
    const float *k = plan.k, off = plan.off;
    const size_t lo = (size_t)h * B, hi = rowlen - (size_t)h * B;

    if (plan.is_dyadic || plan.is_rational) {
        const uint8_t *rows[5];
        for (uint32_t y = (uint32_t)h; y + (uint32_t)h < H; y++) {
            for (int r = 0; r < n; r++) rows[r] = in->pixels + (size_t)(y + (uint32_t)h - (uint32_t)r) * rowlen;
            if_kernel_int_row(&plan, rows, B, lo, hi, out->pixels + (size_t)y * rowlen);
        }
        return 0;
    }

    if (ss == 1 && if_kernel_cross_applies(&plan)) {
        const int done = if_kernel_cross_apply(&plan, in->pixels, out->pixels, W, H, B);
        if (done < 0) {
            if_filter_seterr(err, err_size, "out of memory");
            return -1;
        }
        if (done) return 0;
    }
    krow_fn fn = plan.krow;
    float *buf = malloc(sizeof(float) * rowlen * (size_t)(n + 1));
    if (!buf) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    float *ring[5];
    for (int i = 0; i < n; i++) ring[i] = buf + rowlen * (size_t)i;
    float *acc = buf + rowlen * (size_t)n;
    /* ring[r % n] holds image row r as binary32, converted once */
    for (int r = 0; r < n - 1; r++) load_row(in, (uint32_t)r, ring[r % n]);
    const float *rows[5];
    for (uint32_t y = (uint32_t)h; y + (uint32_t)h < H; y++) {
        load_row(in, y + (uint32_t)h, ring[(y + (uint32_t)h) % (uint32_t)n]);
        for (int r = 0; r < n; r++) rows[r] = ring[(y + (uint32_t)h - (uint32_t)r) % (uint32_t)n];
        if (ss == 1) {
            fn(rows, k, off, B, lo, hi, out->pixels + (size_t)y * rowlen, NULL);
        } else {
            fn(rows, k, off, B, lo, hi, NULL, acc);
            store_row_wide(out, y, acc, lo, hi);
        }
    }
    free(buf);
    return 0;
}
