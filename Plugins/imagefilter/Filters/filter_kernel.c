/* 3x3 and 5x5 convolution (builtins and Kernel), Pillow's binary32 arithmetic. */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Stores samples [lo, hi) of an output row, clamped and truncated the way Pillow does. */
static void store_row(if_image *out, uint32_t y, const float *acc, size_t lo, size_t hi) {
    size_t n = (size_t)out->width * out->bands;
    if (out->sample_size == 1) {
        uint8_t *d = out->pixels + (size_t)y * n;
        for (size_t i = lo; i < hi; i++) {
            float v = acc[i];
            v = v > 0.0f ? v : 0.0f; /* NaN -> 0, like the low byte of x86's 0x80000000 */
            v = v < 255.0f ? v : 255.0f;
            d[i] = (uint8_t)(int)v;
        }
    } else if (out->sample_size == 2) {
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

/* Four samples at a time (SSE2 width) with GCC/Clang vector extensions: lane j computes exactly the scalar
   expression of sample j (same products, same left-to-right sums; -ffp-contract=off keeps them unfused). */
typedef float v4f __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }

/* acc[j] += (row[j-B]*k0 + row[j]*k1) + row[j+B]*k2, for j in [0, n). */
static void row3(float *restrict acc, const float *restrict row, size_t B, size_t n, const float *k) {
    const float k0 = k[0], k1 = k[1], k2 = k[2];
    const float *a = row - B, *b = row, *c = row + B;
    const v4f vk0 = {k0, k0, k0, k0}, vk1 = {k1, k1, k1, k1},
              vk2 = {k2, k2, k2, k2};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        v4f t = load4(a + j) * vk0;
        t = t + load4(b + j) * vk1;
        t = t + load4(c + j) * vk2;
        store4(acc + j, load4(acc + j) + t);
    }
    for (; j < n; j++) {
        float t = a[j] * k0;
        t = t + b[j] * k1;
        t = t + c[j] * k2;
        acc[j] = acc[j] + t;
    }
}

static void row5(float *restrict acc, const float *restrict row, size_t B, size_t n, const float *k) {
    const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4];
    const float *a = row - 2 * B, *b = row - B, *c = row, *d = row + B, *e = row + 2 * B;
    const v4f vk0 = {k0, k0, k0, k0}, vk1 = {k1, k1, k1, k1},
              vk2 = {k2, k2, k2, k2}, vk3 = {k3, k3, k3, k3},
              vk4 = {k4, k4, k4, k4};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        v4f t = load4(a + j) * vk0;
        t = t + load4(b + j) * vk1;
        t = t + load4(c + j) * vk2;
        t = t + load4(d + j) * vk3;
        t = t + load4(e + j) * vk4;
        store4(acc + j, load4(acc + j) + t);
    }
    for (; j < n; j++) {
        float t = a[j] * k0;
        t = t + b[j] * k1;
        t = t + c[j] * k2;
        t = t + d[j] * k3;
        t = t + e[j] * k4;
        acc[j] = acc[j] + t;
    }
}

int if_kernel_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const int n = f->kw, h = n / 2;
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const size_t rowlen = (size_t)W * B, ss = in->sample_size;
    /* Borders are the input's samples: start from a full copy. */
    memcpy(out->pixels, in->pixels, rowlen * H * ss);
    float k[25];
    const float div = (float)f->scale;
    for (int i = 0; i < n * n; i++) k[i] = (float)f->kvalues[i] / div;
    const float off = (float)f->offset + 0.5f;

    float *buf = malloc(sizeof(float) * rowlen * (size_t)(n + 1));
    if (!buf) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    float *ring[5];
    for (int i = 0; i < n; i++) ring[i] = buf + rowlen * (size_t)i;
    float *acc = buf + rowlen * (size_t)n;
    const size_t lo = (size_t)h * B, hi = rowlen - (size_t)h * B, cnt = hi - lo;
    /* ring[r % n] holds image row r */
    for (int r = 0; r < n - 1; r++) load_row(in, (uint32_t)r, ring[r % n]);
    for (uint32_t y = (uint32_t)h; y + (uint32_t)h < H; y++) {
        load_row(in, y + (uint32_t)h, ring[(y + (uint32_t)h) % (uint32_t)n]);
        for (size_t j = lo; j < hi; j++) acc[j] = off;
        for (int r = 0; r < n; r++) {
            const float *row = ring[(y + (uint32_t)h - (uint32_t)r) % (uint32_t)n];
            if (n == 3) row3(acc + lo, row + lo, B, cnt, k + r * 3);
            else row5(acc + lo, row + lo, B, cnt, k + r * 5);
        }
        store_row(out, y, acc, lo, hi);
    }
    free(buf);
    return 0;
}
