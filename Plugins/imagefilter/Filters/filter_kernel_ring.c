/* Kernels made of concentric rings, a row of outputs from column sums in 16-bit lanes: 5x5 rational ones
   (filter_rational.h; SMOOTH_MORE: the 16 outer taps weigh 1, the 8 inner ones 5, the centre 44, scale 100),
   3x3 rational ones (SMOOTH: 1 around 5, scale 13) and 5x5 dyadic ones (filter_kernel.h; BLUR: 1 around zeros,
   scale 16).

   With a, b and z the outer, inner and centre weights, the integer sum N = c + sum(w p) regroups as
       N = a box5 + (b - a) box3 + (z - b) p(centre) + c     (5x5),     N = a box3 + (z - a) p(centre) + c     (3x3)
   (box5 and box3: the sums of the 5x5 and 3x3 windows). Over a chunk of the row, 16-bit arrays are made from
   each column x of the rows: A(x) = a V5(x), X(x) = A(x) + (b - a) V3(x) and Z(x) = (z - b) p(x) + c, V5 and V3
   being the column's sums over the five and the three middle rows (3x3: A(x) = a V3(x), Z(x) = (z - a) p(x) + c).
   Then for output column j
       N = A(j - 2B) + X(j - B) + X(j) + X(j + B) + A(j + 2B) + Z(j)     (3x3: N = A(j - B) + A(j) + A(j + B) + Z(j))
   (the outer columns only see a; the middle three see a on the outer rows and b on the inner ones; the centre
   gets z). Six loads and five additions a sample instead of 25 products. Additions and products wrap modulo
   2^16 exactly, so the intermediate values may overflow: N itself is in int16 (if_rational_setup and
   dyadic_setup check that).

   Rational N -> byte as filter_rational.c: max(N, 1) (N <= 0 gives 0 either way, and N = 1 gives
   floor(1 / den) = 0), q = floor(N / den) by the kernel's exhaustively checked multiply-high, min(q, 255); a tie
   is q den = N (with q <= 255: a clamped q times den is below N), recomputed in Pillow's binary32 order with the
   kernel's products looked up (ring5_binary32, ring3_binary32). Dyadic N -> byte as filter_kernel.c:
   min(max(N, 0), 255 << s) >> s. The AVX2 and AVX-512 versions are chosen at run time; without AVX2 the general
   row functions run. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_kernel.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

/* Columns per chunk: the three scratch arrays (2 bytes a column each) stay in L1. */
#define RING_CHUNK 1024

#ifdef IF_X86
/* 1 if the n x n weights w are rings: for 5x5 the 16 outer ones equal and the 8 inner ones equal, for 3x3 the 8
   around the centre equal. */
static int ring_shaped(int n, const int16_t *w) {
    if (n != 3 && n != 5) return 0;
    for (int i = 0; i < n * n; i++) {
        const int r = i / n, c = i % n;
        const int outer = r == 0 || r == n - 1 || c == 0 || c == n - 1;
        if (i != n * n / 2 && w[i] != (outer ? w[0] : w[n + 1])) return 0;
    }
    return 1;
}

static uint8_t clip8(float v) {
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)(int)v;
}

/* Sample j in Pillow's binary32 order, as if_rational_binary32, its products from the kernel's table: row r of
   the window is t = (((P0 + P1) + P2) + P3) + P4, added in turn to the offset. */
static uint8_t ring5_binary32(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j) {
    const float *po = rk->ring_products[0], *pi = rk->ring_products[1], *pz = rk->ring_products[2];
    const size_t x0 = j - 2 * B, x1 = j - B, x3 = j + B, x4 = j + 2 * B;
    float a = rk->off;
    for (int r = 0; r < 5; r++) {
        const uint8_t *p = rows[r];
        const float *mid = r == 0 || r == 4 ? po : pi;
        const float centre = r == 2 ? pz[p[j]] : mid[p[j]];
        float t = po[p[x0]] + mid[p[x1]];
        t = t + centre;
        t = t + mid[p[x3]];
        t = t + po[p[x4]];
        a = a + t;
    }
    return clip8(a);
}

/* The same for a 3x3 ring: t = (P0 + P1) + P2 per row. */
static uint8_t ring3_binary32(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j) {
    const float *po = rk->ring_products[0], *pz = rk->ring_products[2];
    float a = rk->off;
    for (int r = 0; r < 3; r++) {
        const uint8_t *p = rows[r];
        float t = po[p[j - B]] + (r == 1 ? pz[p[j]] : po[p[j]]);
        t = t + po[p[j + B]];
        a = a + t;
    }
    return clip8(a);
}

/* One row of an N x N ring kernel (weights a, b, z and constant c in scope): ISA macros V (vector of LANES
   int16), WIDEN (LANES bytes -> int16), ST, ADD, MULLO, SPLAT, and FINISH32(e, j): the 32 bytes of output
   columns j.. from scratch index e, stored, the rational ties appended to tie[0 .. nties) (column numbers) and
   redone by REDO once the chunk's bytes are all stored: the list has no unpredictable branch per step, and the
   ties' binary32 sums, independent, overlap. */
#define RING_ROW_BODY(N, V, LANES, WIDEN, ST, ADD, MULLO, SPLAT, FINISH32, REDO)                              \
    do {                                                                                                     \
        const V va = SPLAT(a), vba = SPLAT((int16_t)(b - a)), vc = SPLAT(c);                                 \
        const V vzb = SPLAT((int16_t)(z - (N == 5 ? b : a)));                                                \
        int16_t A[RING_CHUNK + 64], X[RING_CHUNK + 64], Z[RING_CHUNK + 64];                                  \
        uint32_t tie[RING_CHUNK + 64 + 16];                                                                  \
        const size_t mh = (size_t)(N / 2) * B;                                                               \
        (void)X, (void)vba, (void)tie;                                                                       \
        for (size_t c0 = lo, c1; c0 < hi; c0 = c1) {                                                         \
            c1 = hi - c0 < RING_CHUNK + 32 ? hi : c0 + RING_CHUNK;                                           \
            /* scratch index i is column from + i, for i in [0, count) */                                    \
            const size_t from = c0 - mh, count = c1 - c0 + 2 * mh;                                           \
            for (size_t i = 0, next; i < count; i = next) {                                                  \
                next = i + LANES;                                                                            \
                if (next < count && next + LANES > count) next = count - LANES;                              \
                const size_t x = from + i;                                                                   \
                const V pc = WIDEN(rows[N / 2] + x);                                                         \
                const V v3 = ADD(ADD(WIDEN(rows[N / 2 - 1] + x), pc), WIDEN(rows[N / 2 + 1] + x));           \
                if (N == 5) {                                                                                \
                    const V av = MULLO(ADD(ADD(v3, WIDEN(rows[0] + x)), WIDEN(rows[N - 1] + x)), va);        \
                    ST(A + i, av);                                                                           \
                    ST(X + i, ADD(av, MULLO(v3, vba)));                                                      \
                } else {                                                                                     \
                    ST(A + i, MULLO(v3, va));                                                                \
                }                                                                                            \
                ST(Z + i, ADD(MULLO(pc, vzb), vc));                                                          \
            }                                                                                                \
            size_t nties = 0;                                                                                \
            for (size_t j = c0, next; j < c1; j = next) {                                                    \
                next = j + 32;                                                                               \
                if (next < c1 && next + 32 > c1) next = c1 - 32;                                             \
                FINISH32(RING_SUM##N, j - from, j);                                                          \
            }                                                                                                \
            for (size_t t = 0; t < nties; t++) REDO(tie[t]);                                                 \
        }                                                                                                    \
    } while (0)

/* N at scratch index e (LD, ADD: ISA macros; A, X, Z, B and mh in scope). */
#define RING_SUM5(LD, ADD, e)                                                                                \
    ADD(ADD(ADD(LD(A + (e) - mh), LD(A + (e) + mh)), ADD(LD(X + (e) - B), LD(X + (e) + B))),                 \
        ADD(LD(X + (e)), LD(Z + (e))))
#define RING_SUM3(LD, ADD, e) ADD(ADD(LD(A + (e) - B), LD(A + (e) + B)), ADD(LD(A + (e)), LD(Z + (e))))

#define WIDEN_AVX2(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define LDU_AVX2(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define STU_AVX2(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define WIDEN_AVX512(p) _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define LDU_AVX512(p) _mm512_loadu_si512((const void *)(p))
#define STU_AVX512(p, v) _mm512_storeu_si512((void *)(p), (v))

/* Rational: 16 lanes of N -> q (clamped) and the tie mask. */
#define RING_Q_AVX2(n, q, tie)                                                                               \
    do {                                                                                                     \
        const __m256i n_ = _mm256_max_epi16((n), one);                                                       \
        (q) = _mm256_min_epi16(_mm256_srl_epi16(_mm256_mulhi_epu16(n_, magic), shift), v255);                \
        (tie) = _mm256_cmpeq_epi16(_mm256_mullo_epi16((q), den), n_);                                        \
    } while (0)
#define RATIONAL32_AVX2(SUM, e, j)                                                                           \
    do {                                                                                                     \
        __m256i q0, q1, t0, t1;                                                                              \
        RING_Q_AVX2(SUM(LDU_AVX2, _mm256_add_epi16, (e)), q0, t0);                                           \
        RING_Q_AVX2(SUM(LDU_AVX2, _mm256_add_epi16, (e) + 16), q1, t1);                                      \
        STU_AVX2(d8 + (j), _mm256_permute4x64_epi64(_mm256_packus_epi16(q0, q1), 0xD8));                     \
        if (ties) /* two bits a lane */                                                                      \
            for (uint64_t bits_ = (uint64_t)(uint32_t)_mm256_movemask_epi8(t0) |                             \
                                  (uint64_t)(uint32_t)_mm256_movemask_epi8(t1) << 32;                        \
                 bits_; bits_ &= bits_ - 1, bits_ &= bits_ - 1)                                              \
                tie[nties++] = (uint32_t)((j) + (size_t)__builtin_ctzll(bits_) / 2);                         \
    } while (0)
#define RATIONAL32_AVX512(SUM, e, j)                                                                         \
    do {                                                                                                     \
        const __m512i n_ = _mm512_max_epi16(SUM(LDU_AVX512, _mm512_add_epi16, (e)), one);                    \
        const __m512i q_ = _mm512_min_epi16(_mm512_srl_epi16(_mm512_mulhi_epu16(n_, magic), shift), v255);   \
        _mm256_storeu_si256((__m256i *)(void *)(d8 + (j)), _mm512_cvtepi16_epi8(q_));                        \
        if (ties) { /* the tie lanes' columns, compressed into the list: no branch per lane */               \
            const __mmask32 t_ = _mm512_cmpeq_epi16_mask(_mm512_mullo_epi16(q_, den), n_);                   \
            const __m512i col_ = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(j)));                        \
            _mm512_storeu_si512(tie + nties, _mm512_maskz_compress_epi32((__mmask16)t_, col_));              \
            nties += (size_t)__builtin_popcount((uint32_t)t_ & 0xFFFF);                                      \
            _mm512_storeu_si512(tie + nties, _mm512_maskz_compress_epi32((__mmask16)(t_ >> 16),              \
                                                                         _mm512_add_epi32(col_, sixteen)));  \
            nties += (size_t)__builtin_popcount((uint32_t)t_ >> 16);                                         \
        }                                                                                                    \
    } while (0)
/* Dyadic: N -> min(max(N, 0), 255 << s) >> s. */
#define DYADIC32_AVX2(SUM, e, j)                                                                             \
    do {                                                                                                     \
        __m256i q0 = _mm256_min_epi16(_mm256_max_epi16(SUM(LDU_AVX2, _mm256_add_epi16, (e)), zero), vhi);    \
        __m256i q1 = _mm256_min_epi16(_mm256_max_epi16(SUM(LDU_AVX2, _mm256_add_epi16, (e) + 16), zero), vhi); \
        q0 = _mm256_srl_epi16(q0, shift);                                                                    \
        q1 = _mm256_srl_epi16(q1, shift);                                                                    \
        STU_AVX2(d8 + (j), _mm256_permute4x64_epi64(_mm256_packus_epi16(q0, q1), 0xD8));                     \
    } while (0)
#define DYADIC32_AVX512(SUM, e, j)                                                                           \
    do {                                                                                                     \
        const __m512i n_ = _mm512_min_epi16(_mm512_max_epi16(SUM(LDU_AVX512, _mm512_add_epi16, (e)), zero), vhi); \
        _mm256_storeu_si256((__m256i *)(void *)(d8 + (j)), _mm512_cvtepi16_epi8(_mm512_srl_epi16(n_, shift))); \
    } while (0)

#define RATIONAL_SETUP                                                                                       \
    if (hi - lo < 32) { /* too short for a step */                                                           \
        if_rational_row(rk->n)(rows, rk, B, lo, hi, d8);                                                     \
        return;                                                                                              \
    }                                                                                                        \
    const int16_t a = rk->w[0], b = rk->w[rk->n + 1], z = rk->w[rk->n * rk->n / 2], c = rk->c;               \
    const int ties = rk->ties;                                                                               \
    const __m128i shift = _mm_cvtsi32_si128(rk->shift);                                                      \
    (void)b
#define DYADIC_SETUP                                                                                         \
    if (hi - lo < 32) { /* too short for a step */                                                           \
        dyadic5_scalar(rows, dy, B, lo, hi, d8);                                                             \
        return;                                                                                              \
    }                                                                                                        \
    const int16_t a = dy->k[0], b = dy->k[6], z = dy->k[12], c = (int16_t)dy->off;                           \
    const __m128i shift = _mm_cvtsi32_si128(dy->s)
#define REDO5(col) (d8[col] = ring5_binary32(rows, rk, B, (col)))
#define REDO3(col) (d8[col] = ring3_binary32(rows, rk, B, (col)))
#define NO_REDO(col) (void)(col)

/* Samples [lo, hi) of a 5x5 dyadic kernel one at a time, for rows too short for a step. */
static void dyadic5_scalar(const uint8_t *const *rows, const dyadic *dy, size_t B, size_t lo, size_t hi,
                           uint8_t *d8) {
    for (size_t j = lo; j < hi; j++) {
        int32_t a = dy->off;
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 5; c++) a += (int32_t)rows[r][j + (size_t)c * B - 2 * B] * dy->k[r * 5 + c];
        d8[j] = (uint8_t)(a <= 0 ? 0 : a >= (255 << dy->s) ? 255 : a >> dy->s);
    }
}

#define RATIONAL_FNS(N)                                                                                      \
    __attribute__((target("avx2"))) static void ring##N##_avx2(const uint8_t *const *rows,                   \
                                                               const if_rational_kernel *rk, size_t B,       \
                                                               size_t lo, size_t hi, uint8_t *d8) {          \
        RATIONAL_SETUP;                                                                                      \
        const __m256i one = _mm256_set1_epi16(1), v255 = _mm256_set1_epi16(255);                             \
        const __m256i magic = _mm256_set1_epi16((int16_t)rk->magic), den = _mm256_set1_epi16((int16_t)rk->den); \
        RING_ROW_BODY(N, __m256i, 16, WIDEN_AVX2, STU_AVX2, _mm256_add_epi16, _mm256_mullo_epi16,            \
                      _mm256_set1_epi16, RATIONAL32_AVX2, REDO##N);                                          \
    }                                                                                                        \
    __attribute__((target("avx512f,avx512bw"))) static void ring##N##_avx512(                                \
        const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t lo, size_t hi, uint8_t *d8) { \
        RATIONAL_SETUP;                                                                                      \
        const __m512i one = _mm512_set1_epi16(1), v255 = _mm512_set1_epi16(255);                             \
        const __m512i magic = _mm512_set1_epi16((int16_t)rk->magic), den = _mm512_set1_epi16((int16_t)rk->den); \
        const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);        \
        const __m512i sixteen = _mm512_set1_epi32(16);                                                       \
        RING_ROW_BODY(N, __m512i, 32, WIDEN_AVX512, STU_AVX512, _mm512_add_epi16, _mm512_mullo_epi16,        \
                      _mm512_set1_epi16, RATIONAL32_AVX512, REDO##N);                                        \
    }
RATIONAL_FNS(3)
RATIONAL_FNS(5)

__attribute__((target("avx2"))) static void dyadic5_avx2(const uint8_t *const *rows, const dyadic *dy, size_t B,
                                                         size_t lo, size_t hi, uint8_t *d8) {
    DYADIC_SETUP;
    const __m256i zero = _mm256_setzero_si256(), vhi = _mm256_set1_epi16((int16_t)(255 << dy->s));
    RING_ROW_BODY(5, __m256i, 16, WIDEN_AVX2, STU_AVX2, _mm256_add_epi16, _mm256_mullo_epi16, _mm256_set1_epi16,
                  DYADIC32_AVX2, NO_REDO);
}
__attribute__((target("avx512f,avx512bw"))) static void dyadic5_avx512(const uint8_t *const *rows, const dyadic *dy,
                                                                       size_t B, size_t lo, size_t hi, uint8_t *d8) {
    DYADIC_SETUP;
    const __m512i zero = _mm512_setzero_si512(), vhi = _mm512_set1_epi16((int16_t)(255 << dy->s));
    RING_ROW_BODY(5, __m512i, 32, WIDEN_AVX512, STU_AVX512, _mm512_add_epi16, _mm512_mullo_epi16,
                  _mm512_set1_epi16, DYADIC32_AVX512, NO_REDO);
}
#endif

if_rational_row_fn if_kernel_ring_row(if_rational_kernel *rk) {
#ifdef IF_X86
    const int n = rk->n;
    if (!ring_shaped(n, rk->w) || !if_filter_use_avx2()) return NULL;
    for (int p = 0; p < 256; p++) {
        rk->ring_products[0][p] = (float)p * rk->k[0];
        rk->ring_products[1][p] = (float)p * rk->k[n + 1];
        rk->ring_products[2][p] = (float)p * rk->k[n * n / 2];
    }
    if (if_filter_use_avx512()) return n == 3 ? ring3_avx512 : ring5_avx512;
    return n == 3 ? ring3_avx2 : ring5_avx2;
#else
    (void)rk;
    return NULL;
#endif
}

drow_fn if_kernel_ring_dyadic_row(const dyadic *dy, int n) {
#ifdef IF_X86
    if (n != 5 || !ring_shaped(5, dy->k) || !if_filter_use_avx2()) return NULL;
    return if_filter_use_avx512() ? dyadic5_avx512 : dyadic5_avx2;
#else
    (void)dy, (void)n;
    return NULL;
#endif
}
