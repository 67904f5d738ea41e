/* UnsharpMask: GaussianBlur, then Pillow's fixed-point sharpening step per sample. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_lanes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* UnsharpMask's per-sample step, 16 samples at a time: d = in - blurred; out = in + trunc(d * percent / 100)
   where |d| > threshold, clamped to 0..255. Used when 255 * |percent| < 2^17: then d * percent is exact in
   int32 and in binary32, and binary32 division by 100 truncates to the integer quotient (|x / 100| < 2^11,
   so its rounding error, under 2^-13, cannot cross an integer that is at least 0.01 away). */
typedef int32_t v8s __attribute__((vector_size(32)));
typedef float v8fl __attribute__((vector_size(32)));
#define UNSHARP_BODY(WIDEN, NARROW)                                                                          \
    do {                                                                                                     \
        const v8s vth = {th, th, th, th, th, th, th, th}, vpc = {pc, pc, pc, pc, pc, pc, pc, pc};            \
        const v8fl v100 = {100.0f, 100.0f, 100.0f, 100.0f, 100.0f, 100.0f, 100.0f, 100.0f};                  \
        for (size_t i = 0; i < n16; i += 16) {                                                               \
            v8s o[2];                                                                                        \
            for (int u = 0; u < 2; u++) {                                                                    \
                v8s a = (v8s)WIDEN(s + i + 8 * u), diff = a - (v8s)WIDEN(d + i + 8 * u);                     \
                v8s sg = diff >> 31, ad = (diff ^ sg) - sg;                                                  \
                v8s q = __builtin_convertvector(__builtin_convertvector(diff * vpc, v8fl) / v100, v8s);      \
                o[u] = a + (q & (ad > vth));                                                                 \
            }                                                                                                \
            NARROW(d + i, o[0], o[1]); /* signed then unsigned saturation: the clamp to 0..255 */            \
        }                                                                                                    \
    } while (0)

typedef void (*unsharp_fn)(const uint8_t *s, uint8_t *d, size_t n16, int32_t th, int32_t pc);
static void unsharp_base(const uint8_t *s, uint8_t *d, size_t n16, int32_t th, int32_t pc) {
    UNSHARP_BODY(WIDEN_SSE2, NARROW_SSE2);
}
#ifdef IF_X86
__attribute__((target("avx2"))) static void unsharp_avx2(const uint8_t *s, uint8_t *d, size_t n16, int32_t th,
                                                         int32_t pc) {
    UNSHARP_BODY(WIDEN_AVX2, NARROW_AVX2);
}
#endif

int if_unsharp_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const float br = if_gaussian_box_radius((float)f->radius);
    if (if_boxblur_raw(in, out, br, br, 3, err, err_size) < 0) return -1;
    const size_t n = (size_t)in->width * in->height * in->bands;
    const uint8_t *s = in->pixels;
    uint8_t *d = out->pixels;
    const int32_t th = f->threshold, pcs = f->percent;
    size_t done = 0;
    if (pcs >= -514 && pcs <= 514 && n >= 16) {
        unsharp_fn fn = unsharp_base;
#ifdef IF_X86
        if (if_filter_use_avx2()) fn = unsharp_avx2;
#endif
        done = n / 16 * 16;
        fn(s, d, done, th, pcs);
    }
    if (done == n) return 0;
    /* Otherwise (and for the last samples) the result depends only on the (input, blurred) pair: tabulate. */
    uint8_t *lut = malloc(65536);
    if (!lut) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    const uint32_t pc = (uint32_t)pcs;
    for (int32_t a = 0; a < 256; a++)
        for (int32_t b = 0; b < 256; b++) {
            int32_t diff = a - b, ad = diff < 0 ? -diff : diff, v = a;
            if (ad > th) {
                int32_t prod = (int32_t)((uint32_t)diff * pc); /* 32-bit product, as in C int */
                v = a + prod / 100;
            }
            lut[a << 8 | b] = (uint8_t)(v <= 0 ? 0 : (v >= 255 ? 255 : v));
        }
    for (size_t i = done; i < n; i++) d[i] = lut[(uint32_t)s[i] << 8 | d[i]];
    free(lut);
    return 0;
}
