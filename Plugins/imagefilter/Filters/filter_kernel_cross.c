/* A 3x3 binary32 kernel on 8-bit images whose corners weigh 0 and whose four edge neighbours weigh the same
   (DETAIL: [0 -1 0; -1 10 -1; 0 -1 0] / 6), over the whole image, in Pillow's binary32 order per sample.

   Such a kernel is never taken by the integer paths: its scale is even, so about one sample in six is a "tie"
   (filter_rational.c) whose byte only binary32 decides. Pillow's sum for output (x, y), with m = the edge weight
   and k = the centre weight, is
       a = ((off + fl(p(x, y+1) m)) + ((fl(p(x-1, y) m) + fl(p(x, y) k)) + fl(p(x+1, y) m))) + fl(p(x, y-1) m)
   (the zero corners left out: filter_kernel.c says why that is exact). Every input sample's product with m
   serves four outputs, so each is computed once, as its row first comes in (the row y + 1 of output row y), and
   kept in a ring of three rows of products; the rest is five additions per sample. The rows are taken in column
   strips that keep the ring in L1. The bytes are then the truncation of a clamped to [0, 255], taken by
   saturating packs (the path is taken only when every sum is finite and far inside the int32 range).

   The AVX2 and AVX-512 versions are chosen at run time; without them the general binary32 path runs. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

int if_kernel_cross_applies(const kernel_plan *plan) {
    const float *k = plan->k;
    if (!(plan->n == 3 && k[0] == 0.0f && k[2] == 0.0f && k[6] == 0.0f && k[8] == 0.0f && k[1] == k[3] &&
          k[1] == k[5] && k[1] == k[7]))
        return 0;
    /* the saturating packs need every sum far inside the int32 range (Pillow clamps a huge one to 255, a
       truncation to int32 would not): |a| stays within a hair of this bound */
    const double bound = fabs((double)plan->off) + 255.0 * (4.0 * fabs((double)k[1]) + fabs((double)k[4]));
    return bound < 1e9;
}

#ifdef IF_X86
/* Products of one row with m, samples [from, to). */
static void products_scalar(const uint8_t *s, float m, size_t from, size_t to, float *dst) {
    for (size_t i = from; i < to; i++) dst[i] = (float)s[i] * m;
}

/* One output row, 32 samples a step (the last step moved back to end at hi): rows below (y + 1) and centre (y)
   as bytes, the products of the centre row and of the row above (y - 1); the products of the row below are
   written into prod_below as they are made. VF: a vector of LANES binary32; STORE32: 32 results to bytes. */
#define CROSS_ROW_BODY(VF, LANES, WIDEN_CVT, STORE32)                                                        \
    do {                                                                                                     \
        for (size_t j = lo, next; j + 32 <= hi; j = next) {                                                  \
            next = j + 32;                                                                                   \
            if (next < hi && next + 32 > hi) next = hi - 32;                                                 \
            VF res[32 / LANES];                                                                              \
            for (int v = 0; v < 32 / LANES; v++) {                                                           \
                const size_t x = j + (size_t)v * LANES;                                                      \
                const VF pb = WIDEN_CVT(below + x) * vm;                                                     \
                memcpy(prod_below + x, &pb, sizeof pb);                                                      \
                VF l, r, u;                                                                                  \
                memcpy(&l, prod_centre + x - B, sizeof l);                                                   \
                memcpy(&r, prod_centre + x + B, sizeof r);                                                   \
                memcpy(&u, prod_above + x, sizeof u);                                                        \
                VF a = voff + pb;                                                                            \
                a = a + ((l + WIDEN_CVT(centre + x) * vk) + r);                                              \
                res[v] = a + u;                                                                              \
            }                                                                                                \
            STORE32(d8 + j, res);                                                                            \
        }                                                                                                    \
    } while (0)

typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

#define WIDEN_CVT_AVX2(p) ((v8f)_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(p)))))
/* 4 x 8 binary32 -> truncated int32 -> int16 and bytes with saturation (0 below, 255 above), in order. */
#define STORE32_AVX2(dst, res)                                                                               \
    do {                                                                                                     \
        __m256i w0_ = _mm256_packs_epi32(_mm256_cvttps_epi32((__m256)(res)[0]), _mm256_cvttps_epi32((__m256)(res)[1])); \
        __m256i w1_ = _mm256_packs_epi32(_mm256_cvttps_epi32((__m256)(res)[2]), _mm256_cvttps_epi32((__m256)(res)[3])); \
        __m256i b_ = _mm256_packus_epi16(w0_, w1_);                                                          \
        b_ = _mm256_permutevar8x32_epi32(b_, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));                     \
        _mm256_storeu_si256((__m256i *)(void *)(dst), b_);                                                   \
    } while (0)

__attribute__((target("avx2"))) static void cross_row_avx2(const uint8_t *below, const uint8_t *centre,
                                                           const float *prod_centre, const float *prod_above,
                                                           float *prod_below, float m, float k, float off,
                                                           size_t B, size_t lo, size_t hi, uint8_t *d8) {
    const v8f vm = {m, m, m, m, m, m, m, m}, vk = {k, k, k, k, k, k, k, k};
    const v8f voff = {off, off, off, off, off, off, off, off};
    CROSS_ROW_BODY(v8f, 8, WIDEN_CVT_AVX2, STORE32_AVX2);
}

#define WIDEN_CVT_AVX512(p) ((v16f)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p)))))
/* 2 x 16 binary32 -> truncated int32 -> bytes: negative lanes raised to 0 first, then unsigned saturation. */
#define STORE32_AVX512(dst, res)                                                                             \
    do {                                                                                                     \
        const __m512i z_ = _mm512_setzero_si512();                                                           \
        __m128i b0_ = _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_cvttps_epi32((__m512)(res)[0]), z_));   \
        __m128i b1_ = _mm512_cvtusepi32_epi8(_mm512_max_epi32(_mm512_cvttps_epi32((__m512)(res)[1]), z_));   \
        _mm_storeu_si128((__m128i *)(void *)(dst), b0_);                                                     \
        _mm_storeu_si128((__m128i *)(void *)((dst) + 16), b1_);                                              \
    } while (0)

__attribute__((target("avx512f,avx512bw"))) static void cross_row_avx512(
    const uint8_t *below, const uint8_t *centre, const float *prod_centre, const float *prod_above,
    float *prod_below, float m, float k, float off, size_t B, size_t lo, size_t hi, uint8_t *d8) {
    const v16f vm = m - (v16f){0}, vk = k - (v16f){0}, voff = off - (v16f){0};
    CROSS_ROW_BODY(v16f, 16, WIDEN_CVT_AVX512, STORE32_AVX512);
}

typedef void (*cross_row_fn)(const uint8_t *below, const uint8_t *centre, const float *prod_centre,
                             const float *prod_above, float *prod_below, float m, float k, float off, size_t B,
                             size_t lo, size_t hi, uint8_t *d8);
#endif

/* Column strips narrow enough for the three rows of products to stay in L1 (24 KiB), and how many rows ahead
   the input is prefetched (measured on the benchmark's photo: 2,048 and 4 beat 1,024, 1,536 and whole rows). */
#define CROSS_STRIP 2048
#define CROSS_PREFETCH 4

int if_kernel_cross_apply(const kernel_plan *plan, const uint8_t *in, uint8_t *out, uint32_t W, uint32_t H,
                          uint32_t B) {
#ifdef IF_X86
    const size_t rowlen = (size_t)W * B, lo = B, hi = rowlen - B;
    if (!if_filter_use_avx2() || H < 3 || hi < lo + 32) return 0;
    const cross_row_fn row = if_filter_use_avx512() ? cross_row_avx512 : cross_row_avx2;
    const float m = plan->k[1], k = plan->k[4], off = plan->off;
    const size_t strips = (hi - lo + CROSS_STRIP - 1) / CROSS_STRIP, step = (hi - lo + strips - 1) / strips;
    const size_t ringw = step + 32 + 2 * (size_t)B;
    float *ring = malloc(sizeof(float) * ringw * 3);
    if (!ring) return -1;
    for (size_t s0 = lo, s1; s0 < hi; s0 = s1) {
        s1 = hi - s0 < step + 32 ? hi : s0 + step; /* every strip at least 32 wide */
        const size_t w = s1 - s0;
        /* ring + ringw * (r % 3) + B + i: the product of image row r, column s0 + i, for i in [-B, w + B) */
        products_scalar(in + s0 - B, m, 0, w + 2 * (size_t)B, ring);
        products_scalar(in + rowlen + s0 - B, m, 0, w + 2 * (size_t)B, ring + ringw);
        for (uint32_t y = 1; y + 1 < H; y++) {
            const uint8_t *centre = in + (size_t)y * rowlen + s0, *below = centre + rowlen;
            float *prod_below = ring + ringw * ((y + 1) % 3) + B;
            const float *prod_centre = ring + ringw * (y % 3) + B, *prod_above = ring + ringw * ((y - 1) % 3) + B;
            if (y + 1 + CROSS_PREFETCH < H) { /* each strip's row starts cold: fetch the row four below now */
                const uint8_t *ahead = below + (size_t)CROSS_PREFETCH * rowlen - B;
                for (size_t i = 0; i < w + 2 * (size_t)B; i += 64) __builtin_prefetch(ahead + i, 0, 3);
                __builtin_prefetch(ahead + w + 2 * (size_t)B - 1, 0, 3);
            }
            /* the vector steps make the products of [0, w); the margins' are made here */
            products_scalar(below - B, m, 0, B, prod_below - B);
            products_scalar(below, m, w, w + B, prod_below);
            row(below, centre, prod_centre, prod_above, prod_below, m, k, off, B, 0, w, out + (size_t)y * rowlen + s0);
        }
    }
    free(ring);
    return 1;
#else
    (void)plan, (void)in, (void)out, (void)W, (void)H, (void)B;
    return 0;
#endif
}
