/* BoxBlur and GaussianBlur (3-pass extended box), Pillow's fixed-point arithmetic. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_box.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline int64_t clampi(int64_t i, int64_t last) { return i < 0 ? 0 : (i > last ? last : i); }

/* Whole-image passes, for what filter_blur_fused.c does not take (radius 0 one way, or above its limit).
   The engine: one box pass along the rows of a narrow block (nb bytes per row, H rows), every byte column
   independent, edge rows replicated. A horizontal pass runs it on a transposed strip of 16 image rows,
   a vertical pass on 64-byte-wide column blocks of the image. Per column, with Q(i) the clamped row i:
       acc(y) = sum Q(y-ir .. y+ir);  out = (acc*ww + (Q(y-ir-1) + Q(y+ir+1))*fw + 2^23) >> 24
   in uint32 arithmetic (wrapping as Pillow's does); acc is a running sum kept in registers. */

#include "filter_lanes.h"


/* NB (bytes per block row) is a compile-time multiple of 16, at most 64. */
#define BLOCK_BODY(NB, WIDEN, NARROW, FW0)                                                                        \
    do {                                                                                                     \
        enum { NV = NB / 8 };                                                                                \
        const int64_t last = (int64_t)H - 1, ir = p.ir;                                                      \
        const v8u vww = SPLAT8U(p.ww), vfw = SPLAT8U(p.fw), vhalf = SPLAT8U(1u << 23);                       \
        v8u acc[NV];                                                                                         \
        /* window of y = -1: rows -ir-1 .. ir-1, clamped */                                                  \
        const uint32_t c0 = (uint32_t)(ir + 1);                                                              \
        for (int v = 0; v < NV; v++) acc[v] = WIDEN(src + v * 8) * SPLAT8U(c0);                              \
        const int64_t top = ir - 1 < last ? ir - 1 : last;                                                   \
        for (int64_t i = 0; i <= top; i++)                                                                   \
            for (int v = 0; v < NV; v++) acc[v] += WIDEN(src + (size_t)i * sst + v * 8);                     \
        if (ir - 1 > last) {                                                                                 \
            const uint32_t c = (uint32_t)(ir - 1 - last);                                                    \
            for (int v = 0; v < NV; v++) acc[v] += WIDEN(src + (size_t)last * sst + v * 8) * SPLAT8U(c);     \
        }                                                                                                    \
        for (int64_t y = 0; y <= last; y++) {                                                                \
            const uint8_t *ra = src + (size_t)clampi(y + ir, last) * sst;                                    \
            const uint8_t *rs = src + (size_t)clampi(y - ir - 1, last) * sst;                                \
            const uint8_t *rf = src + (size_t)clampi(y + ir + 1, last) * sst;                                \
            uint8_t *d = dst + (size_t)y * dst_stride;                                                       \
            v8u o[NV];                                                                                       \
            for (int v = 0; v < NV; v++) {                                                                   \
                v8u sb = WIDEN(rs + v * 8);                                                                  \
                acc[v] = acc[v] + WIDEN(ra + v * 8) - sb;                                                    \
                if (FW0) /* integer radius: the two outer pixels weigh 0 */                                  \
                    o[v] = (acc[v] * vww + vhalf) >> 24;                                                     \
                else                                                                                         \
                    o[v] = (acc[v] * vww + (sb + WIDEN(rf + v * 8)) * vfw + vhalf) >> 24;                    \
            }                                                                                                \
            for (int v = 0; v < NV; v += 2) NARROW(d + v * 8, o[v], o[v + 1]);                               \
        }                                                                                                    \
    } while (0)

#define BLOCK_FN(NAME, ATTR, WIDEN, NARROW)                                                                  \
    ATTR static void NAME(const uint8_t *src, size_t sst, uint8_t *dst, size_t dst_stride, uint32_t H,       \
                          uint32_t nb, box_params p) {                                                       \
        const int fw0 = p.fw == 0;                                                                           \
        switch (nb * 2 + fw0) {                                                                              \
        case 32: BLOCK_BODY(16, WIDEN, NARROW, 0); break;                                                    \
        case 33: BLOCK_BODY(16, WIDEN, NARROW, 1); break;                                                    \
        case 64: BLOCK_BODY(32, WIDEN, NARROW, 0); break;                                                    \
        case 65: BLOCK_BODY(32, WIDEN, NARROW, 1); break;                                                    \
        case 96: BLOCK_BODY(48, WIDEN, NARROW, 0); break;                                                    \
        case 97: BLOCK_BODY(48, WIDEN, NARROW, 1); break;                                                    \
        case 128: BLOCK_BODY(64, WIDEN, NARROW, 0); break;                                                   \
        default: BLOCK_BODY(64, WIDEN, NARROW, 1); break;                                                    \
        }                                                                                                    \
    }

typedef void (*block_fn)(const uint8_t *, size_t, uint8_t *, size_t, uint32_t, uint32_t, box_params);
BLOCK_FN(block_base, , WIDEN_SSE2, NARROW_SSE2)
#ifdef IF_X86
BLOCK_FN(block_avx2, __attribute__((target("avx2"))), WIDEN_AVX2, NARROW_AVX2)
#endif

/* Any width, scalar: for blocks narrower than 16 bytes. */
static void block_scalar(const uint8_t *src, size_t sst, uint8_t *dst, size_t dst_stride, uint32_t H, uint32_t nb,
                         box_params p) {
    const int64_t last = (int64_t)H - 1, ir = p.ir;
    for (uint32_t j = 0; j < nb; j++) {
        uint32_t acc = (uint32_t)src[j] * (uint32_t)(ir + 1);
        const int64_t top = ir - 1 < last ? ir - 1 : last;
        for (int64_t i = 0; i <= top; i++) acc += src[(size_t)i * sst + j];
        if (ir - 1 > last) acc += (uint32_t)src[(size_t)last * sst + j] * (uint32_t)(ir - 1 - last);
        for (int64_t y = 0; y <= last; y++) {
            uint32_t a = src[(size_t)clampi(y + ir, last) * sst + j];
            uint32_t s = src[(size_t)clampi(y - ir - 1, last) * sst + j];
            uint32_t f = src[(size_t)clampi(y + ir + 1, last) * sst + j];
            acc += a - s;
            dst[(size_t)y * dst_stride + j] = (uint8_t)((acc * p.ww + (s + f) * p.fw + (1u << 23)) >> 24);
        }
    }
}

static block_fn pick_block(void) {
#ifdef IF_X86
    if (if_filter_use_avx2()) return block_avx2;
#endif
    return block_base;
}

/* Runs `passes` passes over a block of nb bytes x H rows: src (stride sst) -> dst (stride dst_stride),
   through the contiguous scratch buffers t0/t1 (H * 64 bytes each). */
static void block_passes(block_fn fn, const uint8_t *src, size_t sst, uint8_t *dst, size_t dst_stride, uint32_t H,
                         uint32_t nb, box_params p, int passes, uint8_t *t0, uint8_t *t1) {
    const uint8_t *cur = src;
    size_t cst = sst;
    const int inplace = src == dst; /* then every pass goes to scratch and the result is copied back */
    for (int i = 0; i < passes; i++) {
        const int direct = i == passes - 1 && !inplace;
        uint8_t *to = direct ? dst : (i & 1 ? t1 : t0);
        size_t tst = direct ? dst_stride : nb;
        if (nb % 16 == 0 && nb <= 64) fn(cur, cst, to, tst, H, nb, p);
        else block_scalar(cur, cst, to, tst, H, nb, p);
        cur = to;
        cst = tst;
    }
    if (inplace)
        for (uint32_t y = 0; y < H; y++) memcpy(dst + (size_t)y * dst_stride, cur + (size_t)y * nb, nb);
}

/* 16x16 byte transpose: rows src[i * sst], i < 16, 16 bytes each -> dst[j * dst_stride], j < 16. */
static void transpose16(const uint8_t *src, size_t sst, uint8_t *dst, size_t dst_stride) {
#ifdef IF_X86
    __m128i r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = _mm_loadu_si128((const __m128i *)(const void *)(src + (size_t)i * sst));
    for (int i = 0; i < 8; i++) {
        t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
        t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm_unpacklo_epi16(t[2 * i], t[2 * i + 1]);
        r[i + 4] = _mm_unpackhi_epi16(t[2 * i], t[2 * i + 1]);
        r[i + 8] = _mm_unpacklo_epi16(t[8 + 2 * i], t[8 + 2 * i + 1]);
        r[i + 12] = _mm_unpackhi_epi16(t[8 + 2 * i], t[8 + 2 * i + 1]);
    }
    for (int q = 0; q < 4; q++)
        for (int i = 0; i < 2; i++) {
            t[q * 4 + i] = _mm_unpacklo_epi32(r[q * 4 + 2 * i], r[q * 4 + 2 * i + 1]);
            t[q * 4 + i + 2] = _mm_unpackhi_epi32(r[q * 4 + 2 * i], r[q * 4 + 2 * i + 1]);
        }
    for (int q = 0; q < 8; q++) {
        r[q * 2] = _mm_unpacklo_epi64(t[q * 2], t[q * 2 + 1]);
        r[q * 2 + 1] = _mm_unpackhi_epi64(t[q * 2], t[q * 2 + 1]);
    }
    /* r[k] now holds source column k */
    for (int k = 0; k < 16; k++) _mm_storeu_si128((__m128i *)(void *)(dst + (size_t)k * dst_stride), r[k]);
#else
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) dst[(size_t)j * dst_stride + i] = src[(size_t)i * sst + j];
#endif
}

/* Transposes a rows x cols byte matrix: dst[j * dst_stride + i] = src[i * sst + j]. */
static void transpose_strip(const uint8_t *src, size_t sst, uint8_t *dst, size_t dst_stride, size_t rows,
                            size_t cols) {
    size_t i = 0;
    for (; i + 16 <= rows; i += 16) {
        size_t j = 0;
        for (; j + 16 <= cols; j += 16) transpose16(src + i * sst + j, sst, dst + j * dst_stride + i, dst_stride);
        for (; j < cols; j++)
            for (size_t k = i; k < i + 16; k++) dst[j * dst_stride + k] = src[k * sst + j];
    }
    for (; i < rows; i++)
        for (size_t j = 0; j < cols; j++) dst[j * dst_stride + i] = src[i * sst + j];
}

/* Horizontal passes: strips of 16 rows are transposed (sample index becomes the row, pixel x = B rows
   of 16 bytes = one block row of 16*B bytes), blurred as blocks, and transposed back. */
static int passes_h(const uint8_t *src, uint8_t *dst, uint32_t W, uint32_t H, uint32_t B, box_params p, int passes,
                    block_fn fn) {
    const size_t n = (size_t)W * B;
    uint8_t *buf = malloc(n * 16 * 3 + 64);
    if (!buf) return -1;
    uint8_t *T = buf, *t0 = buf + n * 16, *t1 = buf + n * 32;
    const uint8_t *rowp[16];
    for (uint32_t y0 = 0; y0 < H; y0 += 16) {
        const uint32_t rows = H - y0 < 16 ? H - y0 : 16;
        if (rows == 16) {
            transpose_strip(src + (size_t)y0 * n, n, T, 16, 16, n);
        } else {
            for (uint32_t i = 0; i < 16; i++) rowp[i] = src + (size_t)(y0 + (i < rows ? i : rows - 1)) * n;
            for (size_t j = 0; j < n; j++)
                for (int i = 0; i < 16; i++) T[j * 16 + (size_t)i] = rowp[i][j];
        }
        /* T: W block rows of 16*B bytes; the last pass lands in t1 (t0 and then T itself are the scratch) */
        uint8_t *res = t1;
        block_passes(fn, T, 16 * (size_t)B, res, 16 * (size_t)B, W, 16 * B, p, passes, t0, T);
        if (rows == 16) {
            transpose_strip(res, 16, dst + (size_t)y0 * n, n, n, 16);
        } else {
            for (size_t j = 0; j < n; j++)
                for (uint32_t i = 0; i < rows; i++) dst[(size_t)(y0 + i) * n + j] = res[j * 16 + i];
        }
    }
    free(buf);
    return 0;
}

/* Vertical passes on column blocks of 64 bytes (then 16, then the rest). */
static int passes_v(const uint8_t *src, uint8_t *dst, uint32_t W, uint32_t H, uint32_t B, box_params p, int passes,
                    block_fn fn) {
    const size_t n = (size_t)W * B;
    uint8_t *buf = malloc((size_t)H * 64 * 2);
    if (!buf) return -1;
    uint8_t *t0 = buf, *t1 = buf + (size_t)H * 64;
    if (n < 16) {
        block_passes(fn, src, n, dst, n, H, (uint32_t)n, p, passes, t0, t1);
    } else {
        size_t x = 0;
        for (; x + 64 <= n; x += 64) block_passes(fn, src + x, n, dst + x, n, H, 64, p, passes, t0, t1);
        /* the rest: 16-byte blocks, then a narrow scalar block (no overlap: the passes may run in place) */
        for (; x + 16 <= n; x += 16) block_passes(fn, src + x, n, dst + x, n, H, 16, p, passes, t0, t1);
        if (x < n) block_passes(fn, src + x, n, dst + x, n, H, (uint32_t)(n - x), p, passes, t0, t1);
    }
    free(buf);
    return 0;
}

static _Atomic int box_strips = 0;

void if_filter_set_box_strips(int strips) { box_strips = strips; }

int if_boxblur_raw(const if_image *in, if_image *out, float xradius, float yradius, int passes,
                   char *err, size_t err_size) {
    if (!(xradius >= 0.0f) || !(yradius >= 0.0f)) {
        if_filter_seterr(err, err_size, "radius must be >= 0");
        return -1;
    }
    if (xradius >= 2147483648.0f || yradius >= 2147483648.0f) {
        if_filter_seterr(err, err_size, "radius too large");
        return -1;
    }
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const size_t bytes = (size_t)W * H * B;
    if (bytes == 0 || (xradius == 0.0f && yradius == 0.0f)) {
        if (bytes) memcpy(out->pixels, in->pixels, bytes);
        return 0;
    }
    if (xradius != 0.0f && yradius != 0.0f) {
        const box_params px = box_setup(xradius), py = box_setup(yradius);
        const int fused = passes == 1 && !box_strips ? if_boxblur_rows8(in, out, px, py)
                                                     : if_boxblur_fused(in, out, px, py, passes, NULL);
        if (fused < 0) if_filter_seterr(err, err_size, "out of memory");
        if (fused != 0) return fused < 0 ? -1 : 0;
    }
    const block_fn fn = pick_block();
    int rc = 0;
    if (xradius != 0.0f && yradius != 0.0f) {
        /* vertical passes in place on the horizontal result (column blocks go through scratch) */
        rc = passes_h(in->pixels, out->pixels, W, H, B, box_setup(xradius), passes, fn);
        if (rc == 0) rc = passes_v(out->pixels, out->pixels, W, H, B, box_setup(yradius), passes, fn);
    } else if (xradius != 0.0f) {
        rc = passes_h(in->pixels, out->pixels, W, H, B, box_setup(xradius), passes, fn);
    } else {
        rc = passes_v(in->pixels, out->pixels, W, H, B, box_setup(yradius), passes, fn);
    }
    if (rc < 0) if_filter_seterr(err, err_size, "out of memory");
    return rc;
}

float if_gaussian_box_radius(float sigma) {
    const float s2 = (sigma * sigma) / 3.0f;
    const float L = (float)sqrt(12.0 * (double)s2 + 1.0);
    const float l = (float)floor(((double)L - 1.0) / 2.0);
    const float l1 = l + 1.0f;
    float a = (2.0f * l + 1.0f) * (l * l1 - 3.0f * s2);
    const float d = 6.0f * (s2 - l1 * l1);
    a = a / d;
    return l + a;
}
