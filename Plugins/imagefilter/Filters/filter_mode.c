/* ModeFilter, band by band: the most frequent value of each window when it occurs at least 3 times. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_net.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ModeFilter rows of a 3x3, 5x5 or 7x7 window: each lane sorts its window with the full network, then scans
   the sorted values once, tracking the current run length and the longest run so far; a run replaces the
   winner only when strictly longer, so ties go to the smaller value as in Pillow. Windows must lie inside
   the image (the caller recomputes the border pixels, whose windows are cut by the image edges). */
#define MODE_ROW_BODY(VT, LOADU, STOREU, VMIN, VMAX, EQ, ADD, MAXU, SEL, SPLAT, LANES)                      \
    do {                                                                                                     \
        VT w[64][4];                                                                                         \
        const int sz = 2 * m + 1, nw = sz * sz;                                                              \
        const VT one = SPLAT(1), two = SPLAT(2);                                                             \
        (void)rank;                                                                                          \
        for (size_t j = 0; j < nout; j += 4 * LANES) {                                                       \
            NET_LOAD_AND_SORT(VT, LOADU, VMIN, VMAX, LANES);                                                 \
            VT run[4], cnt[4], best[4];                                                                      \
            for (int u = 0; u < 4; u++) {                                                                    \
                run[u] = one;                                                                                \
                cnt[u] = one;                                                                                \
                best[u] = w[0][u];                                                                           \
            }                                                                                                \
            for (int i = 1; i < nw; i++)                                                                     \
                for (int u = 0; u < 4; u++) {                                                                \
                    run[u] = SEL(EQ(w[i][u], w[i - 1][u]), ADD(run[u], one), one);                           \
                    VT mx = MAXU(run[u], cnt[u]);                                                            \
                    best[u] = SEL(EQ(mx, cnt[u]), best[u], w[i][u]);                                         \
                    cnt[u] = mx;                                                                             \
                }                                                                                            \
            for (int u = 0; u < 4; u++) {                                                                    \
                VT keep = EQ(MAXU(cnt[u], two), two); /* longest run <= 2: the pixel stays */                \
                VT c = LOADU(rows[m] + j + (size_t)(u * LANES) + (size_t)m * B);                             \
                STOREU(o + j + (size_t)(u * LANES), SEL(keep, c, best[u]));                                  \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

#ifdef IF_X86
#define SEL_SSE2(m, a, b) _mm_or_si128(_mm_and_si128((m), (a)), _mm_andnot_si128((m), (b)))
#define SEL_AVX2(m, a, b) _mm256_blendv_epi8((b), (a), (m))
static void mode_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                          uint8_t *o) {
    MODE_ROW_BODY(__m128i, LOADU_SSE2, STOREU_SSE2, _mm_min_epu8, _mm_max_epu8, _mm_cmpeq_epi8, _mm_add_epi8,
                  _mm_max_epu8, SEL_SSE2, _mm_set1_epi8, 16);
}
__attribute__((target("avx2"))) static void mode_row_avx2(const uint8_t *const *rows, size_t B, int m, size_t nout,
                                                          const rank_net *net, int rank, uint8_t *o) {
    MODE_ROW_BODY(__m256i, LOADU_AVX2, STOREU_AVX2, _mm256_min_epu8, _mm256_max_epu8, _mm256_cmpeq_epi8,
                  _mm256_add_epi8, _mm256_max_epu8, SEL_AVX2, _mm256_set1_epi8, 32);
}
#else
#define EQ1(a, b) ((uint8_t)((a) == (b) ? 0xFF : 0))
#define ADD1(a, b) ((uint8_t)((a) + (b)))
#define SEL1(m, a, b) ((m) ? (a) : (b))
#define SPLAT1(x) ((uint8_t)(x))
static void mode_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                          uint8_t *o) {
    MODE_ROW_BODY(uint8_t, LOAD1, STORE1, MIN1, MAX1, EQ1, ADD1, MAX1, SEL1, SPLAT1, 1);
}
#endif

/* Pillow's ModeFilter at one pixel of band b: the window cut by the image edges. hist is all zero on entry
   and on return. */
static uint8_t mode_at(const uint8_t *s, uint32_t W, uint32_t H, uint32_t B, uint32_t b, int64_t x, int64_t y,
                       int64_t half, uint32_t *hist) {
    const int64_t x0 = x - half < 0 ? 0 : x - half, x1 = x + half >= (int64_t)W ? (int64_t)W - 1 : x + half;
    const int64_t y0 = y - half < 0 ? 0 : y - half, y1 = y + half >= (int64_t)H ? (int64_t)H - 1 : y + half;
    for (int64_t yy = y0; yy <= y1; yy++)
        for (int64_t xx = x0; xx <= x1; xx++) hist[s[((size_t)yy * W + (size_t)xx) * B + b]]++;
    uint32_t best = 256, cnt = 0;
    for (int64_t yy = y0; yy <= y1; yy++)
        for (int64_t xx = x0; xx <= x1; xx++) {
            uint32_t v = s[((size_t)yy * W + (size_t)xx) * B + b], c = hist[v];
            if (c > cnt || (c == cnt && v < best)) {
                best = v;
                cnt = c;
            }
        }
    for (int64_t yy = y0; yy <= y1; yy++)
        for (int64_t xx = x0; xx <= x1; xx++) hist[s[((size_t)yy * W + (size_t)xx) * B + b]] = 0;
    return cnt > 2 ? (uint8_t)best : s[((size_t)y * W + (size_t)x) * B + b];
}

static int mode8_net(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, int half) {
    net_row_fn fn = mode_row_base;
#ifdef IF_X86
    if (if_filter_use_avx2()) fn = mode_row_avx2;
#endif
    if (if_net_run_rows(s, d, W, H, B, 2 * half + 1, -1, fn) < 0) return -1;
    uint32_t hist[256] = {0};
    for (int64_t y = 0; y < (int64_t)H; y++) {
        const int edge_row = y < half || y >= (int64_t)H - half;
        for (int64_t x = 0; x < (int64_t)W; x++) {
            if (!edge_row && x == half && (int64_t)W - half > half) x = (int64_t)W - half; /* skip the interior */
            if (!edge_row && x >= half && x < (int64_t)W - half) continue;
            for (uint32_t b = 0; b < B; b++)
                d[((size_t)y * W + (size_t)x) * B + b] = mode_at(s, W, H, B, b, x, y, half, hist);
        }
    }
    return 0;
}

int if_mode_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const int64_t half = (int64_t)(f->size / 2); /* C division: -1/2 == 0 */
    const uint8_t *s = in->pixels;
    uint8_t *d = out->pixels;
    memcpy(d, s, (size_t)W * H * B);
    if (half <= 0) return 0; /* a window of one pixel (or none) never reaches a count of 3 */
    if (half <= 3) {
        if (mode8_net(s, d, W, H, B, (int)half) < 0) {
            if_filter_seterr(err, err_size, "out of memory");
            return -1;
        }
        return 0;
    }
    const int64_t lastx = (int64_t)W - 1, lasty = (int64_t)H - 1;
    /* Sliding histogram. Only values counted 3 times or more can win, so those are kept in a small
       candidate set; the winner is the candidate with the highest count, ties to the smaller value.
       The winner is also tracked as counts change: an increment can only promote the value it touches,
       a decrement of another value cannot dethrone it; only a decrement of the winner itself forces a
       rescan of the candidates (marked dirty, done once before the pixel is written). */
    uint32_t hist[256];
    uint32_t pos[256], cand[256], ncand = 0, best = 256, bestcnt = 0;
    int dirty = 0;
#define MODE_INC(v)                                                                                          \
    do {                                                                                                     \
        uint32_t v_ = (v), c_ = ++hist[v_];                                                                  \
        if (c_ == 3) {                                                                                       \
            pos[v_] = ncand;                                                                                 \
            cand[ncand++] = v_;                                                                              \
        }                                                                                                    \
        if (c_ >= 3 && !dirty && (c_ > bestcnt || (c_ == bestcnt && v_ < best))) {                           \
            best = v_;                                                                                       \
            bestcnt = c_;                                                                                    \
        }                                                                                                    \
    } while (0)
#define MODE_DEC(v)                                                                                          \
    do {                                                                                                     \
        uint32_t v_ = (v);                                                                                   \
        if (v_ == best) dirty = 1;                                                                           \
        if (hist[v_]-- == 3) {                                                                               \
            uint32_t l_ = cand[--ncand];                                                                     \
            cand[pos[v_]] = l_;                                                                              \
            pos[l_] = pos[v_];                                                                               \
        }                                                                                                    \
    } while (0)
    for (uint32_t b = 0; b < B; b++) {
        for (int64_t y = 0; y <= lasty; y++) {
            const int64_t y0 = y - half < 0 ? 0 : y - half, y1 = y + half > lasty ? lasty : y + half;
            memset(hist, 0, sizeof hist);
            ncand = 0;
            best = 256;
            bestcnt = 0;
            dirty = 0;
            const int64_t x1 = half > lastx ? lastx : half;
            for (int64_t yy = y0; yy <= y1; yy++) {
                const uint8_t *r = s + (size_t)yy * W * B + b;
                for (int64_t xx = 0; xx <= x1; xx++) MODE_INC(r[(size_t)xx * B]);
            }
            for (int64_t x = 0; x <= lastx; x++) {
                if (x > 0) {
                    int64_t xs = x - half - 1, xa = x + half;
                    if (xs >= 0)
                        for (int64_t yy = y0; yy <= y1; yy++) MODE_DEC(s[((size_t)yy * W + (size_t)xs) * B + b]);
                    if (xa <= lastx)
                        for (int64_t yy = y0; yy <= y1; yy++) MODE_INC(s[((size_t)yy * W + (size_t)xa) * B + b]);
                }
                if (dirty) {
                    best = 256;
                    bestcnt = 0;
                    for (uint32_t i = 0; i < ncand; i++) {
                        uint32_t v = cand[i], c = hist[v];
                        if (c > bestcnt || (c == bestcnt && v < best)) { best = v; bestcnt = c; }
                    }
                    dirty = 0;
                }
                if (best < 256) d[((size_t)y * W + (size_t)x) * B + b] = (uint8_t)best;
            }
        }
    }
#undef MODE_INC
#undef MODE_DEC
    return 0;
}
