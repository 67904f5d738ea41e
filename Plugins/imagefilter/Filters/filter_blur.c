/* BoxBlur, GaussianBlur (3-pass extended box) and UnsharpMask, Pillow's fixed-point arithmetic. */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct box_params {
    int64_t ir;
    uint32_t ww, fw;
} box_params;

static box_params box_setup(float r) {
    box_params p;
    p.ir = (int64_t)r;
    p.ww = (uint32_t)(int64_t)(16777216.0f / (r * 2.0f + 1.0f));
    p.fw = (uint32_t)(16777216u - (uint32_t)(2 * p.ir + 1) * p.ww) / 2u;
    return p;
}

static inline int64_t clampi(int64_t i, int64_t last) { return i < 0 ? 0 : (i > last ? last : i); }

/* One horizontal pass over every row; edges replicated. */
static void pass_h_clamped(const uint8_t *src, uint8_t *dst, uint32_t W, uint32_t H, uint32_t B, box_params p) {
    const int64_t last = (int64_t)W - 1, ir = p.ir;
    const uint32_t ww = p.ww, fw = p.fw;
    for (uint32_t y = 0; y < H; y++) {
        const uint8_t *s = src + (size_t)y * W * B;
        uint8_t *d = dst + (size_t)y * W * B;
        for (uint32_t b = 0; b < B; b++) {
            /* window of x = -1: indices [-ir-1, ir-1] */
            uint32_t acc = (uint32_t)s[b] * (uint32_t)(ir + 1);
            int64_t top = ir - 1 < last ? ir - 1 : last;
            for (int64_t i = 0; i <= top; i++) acc += s[i * B + b];
            if (ir - 1 > last) acc += (uint32_t)s[last * B + b] * (uint32_t)(ir - 1 - last);
            for (int64_t x = 0; x <= last; x++) {
                uint32_t add = s[clampi(x + ir, last) * B + b];
                uint32_t sub = s[clampi(x - ir - 1, last) * B + b];
                acc += add - sub;
                uint32_t far = (uint32_t)s[clampi(x - ir - 1, last) * B + b] + s[clampi(x + ir + 1, last) * B + b];
                uint32_t bulk = acc * ww + far * fw;
                d[x * B + b] = (uint8_t)((bulk + (1u << 23)) >> 24);
            }
        }
    }
}

/* The same pass on a row padded with ir+2 replicated pixels per side: no clamping in the loop.
   B is a compile-time constant in each instantiation. */
static inline void pass_h_padded_b(const uint8_t *src, uint8_t *dst, uint8_t *pad, uint32_t W, uint32_t H,
                                   const uint32_t B, box_params p) {
    const size_t ir = (size_t)p.ir, padpx = ir + 2, n = (size_t)W * B;
    const uint32_t ww = p.ww, fw = p.fw;
    for (uint32_t y = 0; y < H; y++) {
        const uint8_t *s = src + (size_t)y * n;
        uint8_t *d = dst + (size_t)y * n;
        for (size_t i = 0; i < padpx; i++) {
            memcpy(pad + i * B, s, B);
            memcpy(pad + (padpx + W + i) * B, s + n - B, B);
        }
        memcpy(pad + padpx * B, s, n);
        const uint8_t *q = pad + padpx * B; /* q[i * B + b] = Q(i), -padpx <= i < W + padpx */
        uint32_t acc[4] = {0, 0, 0, 0};
        for (int64_t i = -(int64_t)ir - 1; i <= (int64_t)ir - 1; i++)
            for (uint32_t b = 0; b < B; b++) acc[b] += q[i * (int64_t)B + b];
        const uint8_t *add = q + ir * B, *sub = q - (ir + 1) * B, *far = q + (ir + 1) * B;
        for (size_t x = 0; x < W; x++) {
            for (uint32_t b = 0; b < B; b++) {
                size_t j = x * B + b;
                uint32_t a = acc[b] + ((uint32_t)add[j] - (uint32_t)sub[j]);
                acc[b] = a;
                uint32_t bulk = a * ww + ((uint32_t)sub[j] + (uint32_t)far[j]) * fw;
                d[j] = (uint8_t)((bulk + (1u << 23)) >> 24);
            }
        }
    }
}

static int pass_h(const uint8_t *src, uint8_t *dst, uint32_t W, uint32_t H, uint32_t B, box_params p) {
    if (p.ir > 4 * (int64_t)W + 64) {
        pass_h_clamped(src, dst, W, H, B, p);
        return 0;
    }
    uint8_t *pad = malloc(((size_t)W + 2 * ((size_t)p.ir + 2)) * B);
    if (!pad) return -1;
    switch (B) {
    case 1: pass_h_padded_b(src, dst, pad, W, H, 1, p); break;
    case 2: pass_h_padded_b(src, dst, pad, W, H, 2, p); break;
    case 3: pass_h_padded_b(src, dst, pad, W, H, 3, p); break;
    default: pass_h_padded_b(src, dst, pad, W, H, 4, p); break;
    }
    free(pad);
    return 0;
}

/* One vertical pass, row by row with one running sum per sample column. */
static int pass_v(const uint8_t *src, uint8_t *dst, uint32_t W, uint32_t H, uint32_t B, box_params p) {
    const size_t n = (size_t)W * B;
    const int64_t last = (int64_t)H - 1, ir = p.ir;
    const uint32_t ww = p.ww, fw = p.fw;
    uint32_t *acc = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!acc) return -1;
    const uint32_t c0 = (uint32_t)(ir + 1);
    for (size_t j = 0; j < n; j++) acc[j] = (uint32_t)src[j] * c0;
    int64_t top = ir - 1 < last ? ir - 1 : last;
    for (int64_t i = 0; i <= top; i++) {
        const uint8_t *r = src + (size_t)i * n;
        for (size_t j = 0; j < n; j++) acc[j] += r[j];
    }
    if (ir - 1 > last) {
        const uint8_t *r = src + (size_t)last * n;
        const uint32_t c = (uint32_t)(ir - 1 - last);
        for (size_t j = 0; j < n; j++) acc[j] += (uint32_t)r[j] * c;
    }
    for (int64_t y = 0; y <= last; y++) {
        const uint8_t *ra = src + (size_t)clampi(y + ir, last) * n;
        const uint8_t *rs = src + (size_t)clampi(y - ir - 1, last) * n;
        const uint8_t *rf = src + (size_t)clampi(y + ir + 1, last) * n;
        uint8_t *d = dst + (size_t)y * n;
        for (size_t j = 0; j < n; j++) {
            uint32_t a = acc[j] + ((uint32_t)ra[j] - (uint32_t)rs[j]);
            acc[j] = a;
            uint32_t bulk = a * ww + ((uint32_t)rs[j] + (uint32_t)rf[j]) * fw;
            d[j] = (uint8_t)((bulk + (1u << 23)) >> 24);
        }
    }
    free(acc);
    return 0;
}

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
    memcpy(out->pixels, in->pixels, bytes);
    if (bytes == 0 || (xradius == 0.0f && yradius == 0.0f)) return 0;
    uint8_t *tmp = malloc(bytes);
    if (!tmp) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    uint8_t *cur = out->pixels, *nxt = tmp;
    if (xradius != 0.0f) {
        box_params p = box_setup(xradius);
        for (int i = 0; i < passes; i++) {
            if (pass_h(cur, nxt, W, H, B, p) < 0) {
                free(tmp);
                if_filter_seterr(err, err_size, "out of memory");
                return -1;
            }
            uint8_t *t = cur; cur = nxt; nxt = t;
        }
    }
    if (yradius != 0.0f) {
        box_params p = box_setup(yradius);
        for (int i = 0; i < passes; i++) {
            if (pass_v(cur, nxt, W, H, B, p) < 0) {
                free(tmp);
                if_filter_seterr(err, err_size, "out of memory");
                return -1;
            }
            uint8_t *t = cur; cur = nxt; nxt = t;
        }
    }
    if (cur != out->pixels) memcpy(out->pixels, cur, bytes);
    free(tmp);
    return 0;
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

int if_unsharp_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const float br = if_gaussian_box_radius((float)f->radius);
    if (if_boxblur_raw(in, out, br, br, 3, err, err_size) < 0) return -1;
    const size_t n = (size_t)in->width * in->height * in->bands;
    const int32_t th = f->threshold;
    const uint32_t pc = (uint32_t)f->percent;
    const uint8_t *s = in->pixels;
    uint8_t *d = out->pixels;
    for (size_t i = 0; i < n; i++) {
        int32_t a = s[i];
        int32_t diff = a - (int32_t)d[i];
        int32_t ad = diff < 0 ? -diff : diff;
        if (ad > th) {
            int32_t prod = (int32_t)((uint32_t)diff * pc); /* 32-bit product, as in C int */
            int32_t v = a + prod / 100;
            d[i] = (uint8_t)(v <= 0 ? 0 : (v >= 255 ? 255 : v));
        } else {
            d[i] = (uint8_t)a;
        }
    }
    return 0;
}
