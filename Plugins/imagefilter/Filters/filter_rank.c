/* RankFilter (Median, Min, Max and any rank) with edge replication, band by band. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_net.h"

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



/* rank < 0: keep every comparator (a full sort of the n wires). */
void if_net_build(rank_net *net, int n, int rank) {
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

#ifdef IF_X86
static void net_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                         uint8_t *o) {
    NET_ROW_BODY(__m128i, LOADU_SSE2, STOREU_SSE2, _mm_min_epu8, _mm_max_epu8, 16);
}
__attribute__((target("avx2"))) static void net_row_avx2(const uint8_t *const *rows, size_t B, int m, size_t nout,
                                                         const rank_net *net, int rank, uint8_t *o) {
    NET_ROW_BODY(__m256i, LOADU_AVX2, STOREU_AVX2, _mm256_min_epu8, _mm256_max_epu8, 32);
}
#else
static void net_row_base(const uint8_t *const *rows, size_t B, int m, size_t nout, const rank_net *net, int rank,
                         uint8_t *o) {
    NET_ROW_BODY(uint8_t, LOAD1, STORE1, MIN1, MAX1, 1);
}
#endif

/* Pads every row by m replicated pixels and runs fn on each output row, windows clamped vertically. */
int if_net_run_rows(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, int size, int rank,
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
    if_net_build(net, size * size, rank);
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
    return if_net_run_rows(s, d, W, H, B, size, rank, fn);
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
