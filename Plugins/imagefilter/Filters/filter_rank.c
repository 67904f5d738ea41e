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

/* min/median/max of a 3x3 window: order statistics via a partial sorting network */
#define SORT2(a, b) do { uint8_t lo_ = a < b ? a : b; uint8_t hi_ = a < b ? b : a; a = lo_; b = hi_; } while (0)

static void rank8_3x3(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, long rank) {
    const int64_t lastx = (int64_t)W - 1, lasty = (int64_t)H - 1;
    for (int64_t y = 0; y <= lasty; y++) {
        const uint8_t *r0 = s + (size_t)clampi(y - 1, lasty) * W * B;
        const uint8_t *r1 = s + (size_t)y * W * B;
        const uint8_t *r2 = s + (size_t)clampi(y + 1, lasty) * W * B;
        uint8_t *o = d + (size_t)y * W * B;
        for (int64_t x = 0; x <= lastx; x++) {
            size_t xl = (size_t)clampi(x - 1, lastx) * B, xc = (size_t)x * B, xr = (size_t)clampi(x + 1, lastx) * B;
            for (uint32_t b = 0; b < B; b++) {
                uint8_t v[9] = {r0[xl + b], r0[xc + b], r0[xr + b], r1[xl + b], r1[xc + b],
                                r1[xr + b], r2[xl + b], r2[xc + b], r2[xr + b]};
                /* insertion sort of 9 bytes; cheap and exact for any rank */
                for (int i = 1; i < 9; i++) {
                    uint8_t t = v[i];
                    int j = i - 1;
                    while (j >= 0 && v[j] > t) { v[j + 1] = v[j]; j--; }
                    v[j + 1] = t;
                }
                o[xc + b] = v[rank];
            }
        }
    }
}

static int rank8(const uint8_t *s, uint8_t *d, uint32_t W, uint32_t H, uint32_t B, long size, long rank) {
    if (size == 1) {
        memcpy(d, s, (size_t)W * H * B);
        return 0;
    }
    if (size == 3) {
        rank8_3x3(s, d, W, H, B, rank);
        return 0;
    }
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

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
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
            qsort(win, n, sizeof(int32_t), cmp_i32);
            d[(size_t)y * W + (size_t)x] = win[rank];
        }
    }
    free(win);
    return 0;
}

int if_rank_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    int rc;
    if (in->sample_size == 4)
        rc = rank32((const int32_t *)(const void *)in->pixels, (int32_t *)(void *)out->pixels, in->width, in->height,
                    f->size, f->rank);
    else
        rc = rank8(in->pixels, out->pixels, in->width, in->height, in->bands, f->size, f->rank);
    if (rc < 0) if_filter_seterr(err, err_size, "out of memory");
    return rc;
}

int if_mode_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    (void)err;
    (void)err_size;
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const int64_t half = (int64_t)(f->size / 2); /* C division: -1/2 == 0 */
    const uint8_t *s = in->pixels;
    uint8_t *d = out->pixels;
    memcpy(d, s, (size_t)W * H * B);
    if (half <= 0) return 0; /* a window of one pixel (or none) never reaches a count of 3 */
    const int64_t lastx = (int64_t)W - 1, lasty = (int64_t)H - 1;
    uint32_t hist[256];
    for (uint32_t b = 0; b < B; b++) {
        for (int64_t y = 0; y <= lasty; y++) {
            const int64_t y0 = y - half < 0 ? 0 : y - half, y1 = y + half > lasty ? lasty : y + half;
            memset(hist, 0, sizeof hist);
            const int64_t x1 = half > lastx ? lastx : half;
            for (int64_t yy = y0; yy <= y1; yy++) {
                const uint8_t *r = s + (size_t)yy * W * B + b;
                for (int64_t xx = 0; xx <= x1; xx++) hist[r[(size_t)xx * B]]++;
            }
            for (int64_t x = 0; x <= lastx; x++) {
                if (x > 0) {
                    int64_t xs = x - half - 1, xa = x + half;
                    for (int64_t yy = y0; yy <= y1; yy++) {
                        const uint8_t *r = s + (size_t)yy * W * B + b;
                        if (xs >= 0) hist[r[(size_t)xs * B]]--;
                        if (xa <= lastx) hist[r[(size_t)xa * B]]++;
                    }
                }
                uint32_t best = 0, cnt = hist[0];
                for (uint32_t v = 1; v < 256; v++)
                    if (hist[v] > cnt) { best = v; cnt = hist[v]; }
                if (cnt > 2) d[((size_t)y * W + (size_t)x) * B + b] = (uint8_t)best;
            }
        }
    }
    return 0;
}
