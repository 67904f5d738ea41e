/* 5x5 rational kernels (filter_rational.h) made of concentric rings (SMOOTH_MORE: the 16 outer taps weigh 1,
   the 8 inner ones 5, the centre 44, scale 100): a row of outputs from column sums, in 16-bit lanes.

   With a, b and z the outer, inner and centre weights, N = c + sum(w p) regroups as
       N = a box5 + (b - a) box3 + (z - b) p(centre) + c
   (box5 and box3: the sums of the 5x5 and 3x3 windows). Over a chunk of the row, three 16-bit arrays are made
   from each column x of the five rows: A(x) = a V5(x), X(x) = A(x) + (b - a) V3(x) and Z(x) = (z - b) p(x) + c,
   V5 and V3 being the column's sums over the five and the three middle rows. Then for output column j
       N = A(j - 2B) + X(j - B) + X(j) + X(j + B) + A(j + 2B) + Z(j)
   (the outer columns only see a; the middle three see a on the outer rows and b on the inner ones; the centre
   gets z). Six loads and five additions a sample instead of 25 products. Additions and products wrap modulo
   2^16 exactly, so the intermediate values may overflow: N itself is in int16 (if_rational_setup checks that).

   N -> byte as filter_rational.c: max(N, 1) (N <= 0 gives 0 either way, and N = 1 gives floor(1 / den) = 0),
   q = floor(N / den) by the kernel's exhaustively checked multiply-high, min(q, 255); a tie is q den = N (with
   q <= 255: a clamped q times den is below N), recomputed in Pillow's binary32 order with the kernel's products
   looked up (ring_binary32). The AVX2 and AVX-512 versions are chosen at run time; without AVX2 the general row
   function of filter_rational.c runs. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_rational.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

/* Columns per chunk: the three scratch arrays (2 bytes a column each) stay in L1. */
#define RING_CHUNK 1024

static int ring_shaped(const if_rational_kernel *rk) {
    if (rk->n != 5) return 0;
    for (int i = 0; i < 25; i++) {
        const int r = i / 5, c = i % 5;
        const int outer = r == 0 || r == 4 || c == 0 || c == 4;
        if (i != 12 && rk->w[i] != (outer ? rk->w[0] : rk->w[6])) return 0;
    }
    return 1;
}

#ifdef IF_X86
static uint8_t clip8(float v) {
    v = v > 0.0f ? v : 0.0f;
    v = v < 255.0f ? v : 255.0f;
    return (uint8_t)(int)v;
}

/* Sample j in Pillow's binary32 order, as if_rational_binary32, its products from the kernel's table: row r of
   the window is t = (((P0 + P1) + P2) + P3) + P4, added in turn to the offset. */
static uint8_t ring_binary32(const uint8_t *const *rows, const if_rational_kernel *rk, size_t B, size_t j) {
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

/* One row: ISA macros V (vector of LANES int16), WIDEN (LANES bytes -> int16), LD / ST, ADD, MULLO, SPLAT, and
   FINISH32(e, j): the 32 bytes of output columns j.. from scratch index e, stored, their ties appended to
   tie[0 .. nties) (column numbers). The ties of a chunk are redone once its bytes are all stored: the list
   has no unpredictable branch per step, and the ties' binary32 sums, independent, overlap. */
#define RING_ROW_BODY(V, LANES, WIDEN, LD, ST, ADD, MULLO, SPLAT, FINISH32)                                   \
    do {                                                                                                     \
        if (hi - lo < 32) { /* too short for a step */                                                       \
            if_rational_row(5)(rows, rk, B, lo, hi, d8);                                                     \
            return;                                                                                          \
        }                                                                                                    \
        const int16_t a = rk->w[0], b = rk->w[6], z = rk->w[12];                                             \
        const V va = SPLAT(a), vba = SPLAT((int16_t)(b - a)), vzb = SPLAT((int16_t)(z - b)), vc = SPLAT(rk->c); \
        int16_t A[RING_CHUNK + 64], X[RING_CHUNK + 64], Z[RING_CHUNK + 64];                                  \
        uint32_t tie[RING_CHUNK + 64 + 16];                                                                  \
        const size_t m2 = 2 * B;                                                                             \
        for (size_t c0 = lo, c1; c0 < hi; c0 = c1) {                                                         \
            c1 = hi - c0 < RING_CHUNK + 32 ? hi : c0 + RING_CHUNK;                                           \
            /* scratch index i is column from + i, for i in [0, count) */                                    \
            const size_t from = c0 - m2, count = c1 - c0 + 2 * m2;                                           \
            for (size_t i = 0, next; i < count; i = next) {                                                  \
                next = i + LANES;                                                                            \
                if (next < count && next + LANES > count) next = count - LANES;                              \
                const size_t x = from + i;                                                                   \
                const V p2 = WIDEN(rows[2] + x);                                                             \
                const V v3 = ADD(ADD(WIDEN(rows[1] + x), p2), WIDEN(rows[3] + x));                           \
                const V v5 = ADD(ADD(v3, WIDEN(rows[0] + x)), WIDEN(rows[4] + x));                           \
                const V av = MULLO(v5, va);                                                                  \
                ST(A + i, av);                                                                               \
                ST(X + i, ADD(av, MULLO(v3, vba)));                                                          \
                ST(Z + i, ADD(MULLO(p2, vzb), vc));                                                          \
            }                                                                                                \
            size_t nties = 0;                                                                                \
            for (size_t j = c0, next; j < c1; j = next) {                                                    \
                next = j + 32;                                                                               \
                if (next < c1 && next + 32 > c1) next = c1 - 32;                                             \
                FINISH32(j - from, j);                                                                       \
            }                                                                                                \
            for (size_t t = 0; t < nties; t++) d8[tie[t]] = ring_binary32(rows, rk, B, tie[t]);              \
        }                                                                                                    \
    } while (0)

/* N at scratch index e (ISA macros as above). */
#define RING_SUM(LD, ADD, e)                                                                                 \
    ADD(ADD(ADD(LD(A + (e) - m2), LD(A + (e) + m2)), ADD(LD(X + (e) - B), LD(X + (e) + B))),                 \
        ADD(LD(X + (e)), LD(Z + (e))))

#define WIDEN_AVX2(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define LDU_AVX2(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define STU_AVX2(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))

/* 16 lanes of N -> q (clamped) and the tie mask */
#define RING_Q_AVX2(n, q, tie)                                                                               \
    do {                                                                                                     \
        const __m256i n_ = _mm256_max_epi16((n), one);                                                       \
        (q) = _mm256_min_epi16(_mm256_srl_epi16(_mm256_mulhi_epu16(n_, magic), shift), v255);                \
        (tie) = _mm256_cmpeq_epi16(_mm256_mullo_epi16((q), den), n_);                                        \
    } while (0)
#define FINISH32_AVX2(e, j)                                                                                  \
    do {                                                                                                     \
        __m256i q0, q1, t0, t1;                                                                              \
        RING_Q_AVX2(RING_SUM(LDU_AVX2, _mm256_add_epi16, (e)), q0, t0);                                      \
        RING_Q_AVX2(RING_SUM(LDU_AVX2, _mm256_add_epi16, (e) + 16), q1, t1);                                 \
        STU_AVX2(d8 + (j), _mm256_permute4x64_epi64(_mm256_packus_epi16(q0, q1), 0xD8));                     \
        if (ties) /* two bits a lane */                                                                      \
            for (uint64_t bits_ = (uint64_t)(uint32_t)_mm256_movemask_epi8(t0) |                             \
                                  (uint64_t)(uint32_t)_mm256_movemask_epi8(t1) << 32;                        \
                 bits_; bits_ &= bits_ - 1, bits_ &= bits_ - 1)                                              \
                tie[nties++] = (uint32_t)((j) + (size_t)__builtin_ctzll(bits_) / 2);                         \
    } while (0)

__attribute__((target("avx2"))) static void ring_row_avx2(const uint8_t *const *rows, const if_rational_kernel *rk,
                                                          size_t B, size_t lo, size_t hi, uint8_t *d8) {
    const __m256i one = _mm256_set1_epi16(1), v255 = _mm256_set1_epi16(255);
    const __m256i magic = _mm256_set1_epi16((int16_t)rk->magic), den = _mm256_set1_epi16((int16_t)rk->den);
    const __m128i shift = _mm_cvtsi32_si128(rk->shift);
    const int ties = rk->ties;
    RING_ROW_BODY(__m256i, 16, WIDEN_AVX2, LDU_AVX2, STU_AVX2, _mm256_add_epi16, _mm256_mullo_epi16,
                  _mm256_set1_epi16, FINISH32_AVX2);
}

#define WIDEN_AVX512(p) _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define LDU_AVX512(p) _mm512_loadu_si512((const void *)(p))
#define STU_AVX512(p, v) _mm512_storeu_si512((void *)(p), (v))
#define FINISH32_AVX512(e, j)                                                                                \
    do {                                                                                                     \
        const __m512i n_ = _mm512_max_epi16(RING_SUM(LDU_AVX512, _mm512_add_epi16, (e)), one);               \
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

__attribute__((target("avx512f,avx512bw"))) static void ring_row_avx512(const uint8_t *const *rows,
                                                                        const if_rational_kernel *rk, size_t B,
                                                                        size_t lo, size_t hi, uint8_t *d8) {
    const __m512i one = _mm512_set1_epi16(1), v255 = _mm512_set1_epi16(255);
    const __m512i magic = _mm512_set1_epi16((int16_t)rk->magic), den = _mm512_set1_epi16((int16_t)rk->den);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i sixteen = _mm512_set1_epi32(16);
    const __m128i shift = _mm_cvtsi32_si128(rk->shift);
    const int ties = rk->ties;
    RING_ROW_BODY(__m512i, 32, WIDEN_AVX512, LDU_AVX512, STU_AVX512, _mm512_add_epi16, _mm512_mullo_epi16,
                  _mm512_set1_epi16, FINISH32_AVX512);
}
#endif

if_rational_row_fn if_kernel_ring_row(if_rational_kernel *rk) {
#ifdef IF_X86
    if (!ring_shaped(rk) || !if_filter_use_avx2()) return NULL;
    for (int p = 0; p < 256; p++) {
        rk->ring_products[0][p] = (float)p * rk->k[0];
        rk->ring_products[1][p] = (float)p * rk->k[6];
        rk->ring_products[2][p] = (float)p * rk->k[12];
    }
    return if_filter_use_avx512() ? ring_row_avx512 : ring_row_avx2;
#else
    (void)rk;
    return NULL;
#endif
}
