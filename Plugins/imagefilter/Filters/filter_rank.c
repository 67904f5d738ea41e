/* RankFilter (Median/Min/Max) with edge replication, and ModeFilter, band by band. */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int64_t clampi(int64_t i, int64_t last) { return i < 0 ? 0 : (i > last ? last : i); }

/* rank-th smallest in a 256-bin histogram with 16 coarse bins */
static inline uint8_t hist_select(const uint32_t *fine, const uint32_t *coarse, uint32_t rank) {
    uint32_t c = 0;
    while (rank >= coarse[c]) rank -= coarse[c++];
    uint32_t v = c * 16;
    while (rank >= fine[v]) rank -= fine[v++];
    return (uint8_t)v;
}

/* 3x3 windows, row by row: every row is padded by one replicated pixel on each side so that the nine
   window samples of flat sample j are at fixed offsets; the loops over j are branchless and vectorise. */
static inline uint8_t min8(uint8_t a, uint8_t b) { return a < b ? a : b; }
static inline uint8_t max8(uint8_t a, uint8_t b) { return a < b ? b : a; }
#define SORT2(a, b) do { uint8_t lo_ = min8(a, b); b = max8(a, b); a = lo_; } while (0)

static void pad_row(const uint8_t *row, uint8_t *dst, uint32_t W, uint32_t B) {
    memcpy(dst, row, B);
    memcpy(dst + B, row, (size_t)W * B);
    memcpy(dst + (size_t)(W + 1) * B, row + (size_t)(W - 1) * B, B);
}

static void rank8_3x3_row(const uint8_t *restrict a, const uint8_t *restrict b, const uint8_t *restrict c,
                          uint8_t *restrict lo, uint8_t *restrict mi, uint8_t *restrict hi, uint8_t *restrict o,
                          size_t n, size_t B, long rank) {
    /* a, b, c: padded rows y-1, y, y+1 (n + 2B samples) */
    if (rank == 0) {
        for (size_t j = 0; j < n + 2 * B; j++) lo[j] = min8(min8(a[j], b[j]), c[j]);
        for (size_t j = 0; j < n; j++) o[j] = min8(min8(lo[j], lo[j + B]), lo[j + 2 * B]);
    } else if (rank == 8) {
        for (size_t j = 0; j < n + 2 * B; j++) hi[j] = max8(max8(a[j], b[j]), c[j]);
        for (size_t j = 0; j < n; j++) o[j] = max8(max8(hi[j], hi[j + B]), hi[j + 2 * B]);
    } else if (rank == 4) {
        for (size_t j = 0; j < n + 2 * B; j++) {
            uint8_t x = a[j], y = b[j], z = c[j];
            SORT2(x, y);
            SORT2(y, z);
            SORT2(x, y);
            lo[j] = x;
            mi[j] = y;
            hi[j] = z;
        }
        for (size_t j = 0; j < n; j++) {
            /* median of 9 = median of (max of column minima, median of column medians, min of column maxima) */
            uint8_t p = max8(max8(lo[j], lo[j + B]), lo[j + 2 * B]);
            uint8_t q0 = mi[j], q1 = mi[j + B], q2 = mi[j + 2 * B];
            uint8_t q = max8(min8(q0, q1), min8(max8(q0, q1), q2));
            uint8_t r = min8(min8(hi[j], hi[j + B]), hi[j + 2 * B]);
            o[j] = max8(min8(p, q), min8(max8(p, q), r));
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            uint8_t v[9] = {a[j], a[j + B], a[j + 2 * B], b[j], b[j + B], b[j + 2 * B], c[j], c[j + B], c[j + 2 * B]};
            for (int s = 0; s < 9; s++) /* odd-even transposition sort */
                for (int i = s & 1; i + 1 < 9; i += 2) SORT2(v[i], v[i + 1]);
            o[j] = v[rank];
        }
    }
}

static int rank8_3x3(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, long rank) {
    const size_t n = (size_t)W * B, pn = n + 2 * (size_t)B;
    uint8_t *buf = malloc(pn * 6);
    if (!buf) return -1;
    uint8_t *pads[3] = {buf, buf + pn, buf + 2 * pn}, *lo = buf + 3 * pn, *mi = buf + 4 * pn, *hi = buf + 5 * pn;
    /* pads[i % 3] holds padded row i (clamped) */
    pad_row(s, pads[0], W, B);
    for (uint32_t y = 0; y < H; y++) {
        uint32_t below = y + 1 < H ? y + 1 : H - 1;
        pad_row(s + (size_t)below * n, pads[(y + 1) % 3], W, B);
        const uint8_t *a = y == 0 ? pads[0] : pads[(y - 1) % 3];
        const uint8_t *b = pads[y % 3];
        const uint8_t *c = pads[(y + 1) % 3];
        if (below == y) c = b;
        rank8_3x3_row(a, b, c, lo, mi, hi, d + (size_t)y * n, n, B, rank);
    }
    free(buf);
    return 0;
}


/* ---- selection networks: any rank of a 3x3, 5x5 or 7x7 window, 16 or 32 samples at a time ----
   Batcher's odd-even merge sort on 16/32/64 wires, the missing wires being +inf (255: the rank-th smallest
   of the real values is unchanged). Comparators touching a padding wire are no-ops; comparators that cannot
   influence wire `rank` are dropped by a backward pass. Each lane runs the same network on its own window. */

typedef struct rank_net {
    int nwires, ncomp;
    uint8_t lo[2048], hi[2048];
} rank_net;

/* rank < 0: keep every comparator (a full sort of the n wires). */
static void build_net(rank_net *net, int n, int rank) {
    int N = 1;
    while (N < n) N <<= 1;
    uint8_t keep_lo[2048], keep_hi[2048]; /* 64 wires need 543 comparators */
    int cnt = 0;
    for (int p = 1; p < N; p <<= 1)
        for (int k = p; k >= 1; k >>= 1)
            for (int j = k % p; j + k < N; j += 2 * k)
                for (int i = 0; i < k && i + j + k < N; i++)
                    if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < n) {
                        keep_lo[cnt] = (uint8_t)(i + j);
                        keep_hi[cnt] = (uint8_t)(i + j + k);
                        cnt++;
                    }
    /* backward pass: keep what can reach wire `rank` */
    uint8_t need[64] = {0};
    if (rank >= 0) need[rank] = 1;
    else memset(need, 1, sizeof need);
    int out = 0;
    for (int c = cnt - 1; c >= 0; c--) {
        if (need[keep_lo[c]] || need[keep_hi[c]]) {
            need[keep_lo[c]] = need[keep_hi[c]] = 1;
            net->lo[out] = keep_lo[c];
            net->hi[out] = keep_hi[c];
            out++;
        }
    }
    /* reverse into forward order */
    for (int a = 0, b = out - 1; a < b; a++, b--) {
        uint8_t t = net->lo[a]; net->lo[a] = net->lo[b]; net->lo[b] = t;
        t = net->hi[a]; net->hi[a] = net->hi[b]; net->hi[b] = t;
    }
    net->ncomp = out;
    net->nwires = n;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

/* rows[dy]: padded row y+dy-m (clamped), m replicated pixels each side, 160 spare bytes at the end.
   Computes nout samples, rounded up to 4 vectors, into o (which has 160 spare bytes). */
/* Loads the (2m+1)^2 windows of four chunks of LANES samples starting at j
 * into w[][4] and runs the selection network over them: shared by the rank
 * and mode bodies below. */
#define NET_LOAD_AND_SORT(VT, LOADU, VMIN, VMAX, LANES)                                                      \
    do {                                                                                                     \
        int k = 0;                                                                                           \
        for (int dy = 0; dy < sz; dy++)                                                                      \
            for (int dx = 0; dx < sz; dx++, k++)                                                             \
                for (int u = 0; u < 4; u++) w[k][u] = LOADU(rows[dy] + j + (size_t)(u * LANES) + (size_t)dx * B); \
        for (int c = 0; c < net->ncomp; c++) {                                                               \
            VT *x = w[net->lo[c]], *y = w[net->hi[c]];                                                       \
            for (int u = 0; u < 4; u++) {                                                                    \
                VT a = x[u], b = y[u];                                                                       \
                x[u] = VMIN(a, b);                                                                           \
                y[u] = VMAX(a, b);                                                                           \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

#define NET_ROW_BODY(VT, LOADU, STOREU, VMIN, VMAX, LANES)                                                   \
    do {                                                                                                     \
        /* four independent chunks per step: the comparators' load/min/max/store chains overlap */          \
        VT w[64][4];                                                                                         \
        const int sz = 2 * m + 1;                                                                            \
        for (size_t j = 0; j < nout; j += 4 * LANES) {                                                       \
            NET_LOAD_AND_SORT(VT, LOADU, VMIN, VMAX, LANES);                                                 \
            for (int u = 0; u < 4; u++) STOREU(o + j + (size_t)(u * LANES), w[rank][u]);                     \
        }                                                                                                    \
    } while (0)

typedef void (*net_row_fn)(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                           uint8_t *o);

#ifdef IF_X86
#define LOADU_SSE2(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define STOREU_SSE2(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
static void net_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                         uint8_t *o) {
    NET_ROW_BODY(__m128i, LOADU_SSE2, STOREU_SSE2, _mm_min_epu8, _mm_max_epu8, 16);
}
#define LOADU_AVX2(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define STOREU_AVX2(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
__attribute__((target("avx2"))) static void net_row_avx2(const uint8_t *const *rows, size_t B, int m, size_t nout,
                                                         const rank_net *net, int rank, uint8_t *o) {
    NET_ROW_BODY(__m256i, LOADU_AVX2, STOREU_AVX2, _mm256_min_epu8, _mm256_max_epu8, 32);
}
#else
#define LOAD1(p) (*(p))
#define STORE1(p, v) (*(p) = (v))
#define MIN1(a, b) ((a) < (b) ? (a) : (b))
#define MAX1(a, b) ((a) < (b) ? (b) : (a))
static void net_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                         uint8_t *o) {
    NET_ROW_BODY(uint8_t, LOAD1, STORE1, MIN1, MAX1, 1);
}
#endif

/* Pads every row by m replicated pixels and runs fn on each output row, windows clamped vertically. */
static int run_net_rows(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, int size, int rank,
                        net_row_fn fn) {
    rank_net *net = malloc(sizeof *net);
    const int m = size / 2;
    const size_t n = (size_t)W * B, pn = n + 2 * (size_t)m * B + 160;
    uint8_t *buf = calloc((size_t)H * pn + n + 160, 1);
    if (!net || !buf) {
        free(net);
        free(buf);
        return -1;
    }
    build_net(net, size * size, rank);
    /* every image row padded once: m replicated pixels each side */
    for (uint32_t y = 0; y < H; y++) {
        uint8_t *pr = buf + (size_t)y * pn;
        const uint8_t *r = s + (size_t)y * n;
        for (int i = 0; i < m; i++) {
            memcpy(pr + (size_t)i * B, r, B);
            memcpy(pr + (size_t)(m + (int)W + i) * B, r + n - B, B);
        }
        memcpy(pr + (size_t)m * B, r, n);
    }
    uint8_t *o = buf + (size_t)H * pn;
    const uint8_t *rows[7];
    for (uint32_t y = 0; y < H; y++) {
        for (int dy = 0; dy < size; dy++) {
            int64_t yy = (int64_t)y + dy - m;
            yy = yy < 0 ? 0 : (yy >= (int64_t)H ? (int64_t)H - 1 : yy);
            rows[dy] = buf + (size_t)yy * pn;
        }
        fn(rows, B, m, n, net, rank, o);
        memcpy(d + (size_t)y * n, o, n);
    }
    free(buf);
    free(net);
    return 0;
}

static int rank8_net(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, int size, int rank) {
    net_row_fn fn = net_row_base;
#ifdef IF_X86
    if (if_filter_use_avx2()) fn = net_row_avx2;
#endif
    return run_net_rows(s, d, W, H, B, size, rank, fn);
}


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
    if (run_net_rows(s, d, W, H, B, 2 * half + 1, -1, fn) < 0) return -1;
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

static int rank8(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, long size, long rank) {
    if (size == 1) {
        memcpy(d, s, (size_t)W * H * B);
        return 0;
    }
    if (size == 3 && (rank == 0 || rank == 4 || rank == 8)) return rank8_3x3(s, d, W, H, B, rank);
    if (size <= 7) return rank8_net(s, d, W, H, B, (int)size, (int)rank);
    const int64_t m = size / 2, lastx = (int64_t)W - 1, lasty = (int64_t)H - 1;
    uint32_t fine[256], coarse[16];
    for (uint32_t b = 0; b < B; b++) {
        for (int64_t y = 0; y <= lasty; y++) {
            memset(fine, 0, sizeof fine);
            memset(coarse, 0, sizeof coarse);
            /* window of x = 0 */
            for (int64_t yy = y - m; yy <= y + m; yy++) {
                const uint8_t *r = s + (size_t)clampi(yy, lasty) * W * B + b;
                for (int64_t xx = -m; xx <= m; xx++) {
                    uint8_t v = r[(size_t)clampi(xx, lastx) * B];
                    fine[v]++;
                    coarse[v >> 4]++;
                }
            }
            uint8_t *o = d + (size_t)y * W * B + b;
            for (int64_t x = 0; x <= lastx; x++) {
                if (x > 0) {
                    size_t xs = (size_t)clampi(x - m - 1, lastx) * B, xa = (size_t)clampi(x + m, lastx) * B;
                    if (xs != xa) {
                        for (int64_t yy = y - m; yy <= y + m; yy++) {
                            const uint8_t *r = s + (size_t)clampi(yy, lasty) * W * B + b;
                            uint8_t vs = r[xs], va = r[xa];
                            fine[vs]--;
                            coarse[vs >> 4]--;
                            fine[va]++;
                            coarse[va >> 4]++;
                        }
                    }
                }
                o[(size_t)x * B] = hist_select(fine, coarse, (uint32_t)rank);
            }
        }
    }
    return 0;
}

/* k-th smallest of v[0..n) (Hoare quickselect; v is scratch). */
static int32_t select_i32(int32_t *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int32_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                int32_t t = v[i]; v[i] = v[j]; v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

static int rank32(const int32_t *s, int32_t *d, uint32_t W, uint32_t H, long size, long rank) {
    const int64_t m = size / 2, lastx = (int64_t)W - 1, lasty = (int64_t)H - 1;
    size_t n = (size_t)size * (size_t)size;
    int32_t *win = malloc(sizeof(int32_t) * n);
    if (!win) return -1;
    for (int64_t y = 0; y <= lasty; y++) {
        for (int64_t x = 0; x <= lastx; x++) {
            size_t k = 0;
            for (int64_t yy = y - m; yy <= y + m; yy++) {
                const int32_t *r = s + (size_t)clampi(yy, lasty) * W;
                for (int64_t xx = x - m; xx <= x + m; xx++) win[k++] = r[clampi(xx, lastx)];
            }
            d[(size_t)y * W + (size_t)x] = select_i32(win, n, (size_t)rank);
        }
    }
    free(win);
    return 0;
}

int if_rank_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    int rc;
    if (in->width == 0 || in->height == 0) return 0; /* empty images come back empty */
    if (in->sample_size == 4)
        rc = rank32((const int32_t *)(const void *)in->pixels, (int32_t *)(void *)out->pixels, in->width, in->height,
                    f->size, f->rank);
    else
        rc = rank8(in->pixels, out->pixels, in->width, in->height, in->bands, f->size, f->rank);
    if (rc < 0) if_filter_seterr(err, err_size, "out of memory");
    return rc;
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
