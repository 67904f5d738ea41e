/* UnsharpMask: GaussianBlur, then Pillow's fixed-point sharpening step per sample:
       diff = in - blurred;  out = in + diff * percent / 100 (C's truncating division) where |diff| > threshold
   clamped to 0..255. The blur's rows are sharpened as its last pass narrows them to bytes (filter_blur_fused.c),
   in 16-bit lanes in sample order. */
#pragma STDC FP_CONTRACT OFF /* no floating point here; the pragma only keeps every filter file alike */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_box.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include "filter_blur_lanes.h"
#define IF_X86 1
#endif

/* The vector step takes |percent| <= MAX_VECTOR_PERCENT: then |diff| * |percent| / 100 is, with
   |percent| = 100 q0 + r0, |diff| q0 + floor(|diff| r0 / 100), every term below 2^16 (|diff| r0 <= 25245),
   and floor(x / 100) = (x * 41944) >> 22 for x < 43690; the quotient's sign is diff's times percent's, and
   in + quotient (-1310 .. 1565) is clamped by the narrowing to bytes. */
#define MAX_VECTOR_PERCENT 514

static inline uint8_t unsharp_one(int32_t a, int32_t b, int32_t th, int32_t pc) {
    const int32_t diff = a - b, ad = diff < 0 ? -diff : diff;
    int32_t v = a;
    if (ad > th) v = a + (int32_t)((uint32_t)diff * (uint32_t)pc) / 100; /* 32-bit product, as in C int */
    return (uint8_t)(v <= 0 ? 0 : (v >= 255 ? 255 : v));
}

#ifdef IF_X86
/* 2 LANES samples a step over whole vectors of [0, n), in 16-bit lanes in sample order; returns how many samples
   it did, non-temporal stores when `stream` (out then aligned, n a multiple of 2 LANES). BLURRED(VU, WIDEN16, j):
   the blurred values of samples j .. as words. */
#define SHARPEN_STEP(LEVEL, VU, VS, BLURRED, J, OUT)                                                        \
    do {                                                                                                     \
        const VS a = (VS)WIDEN16_##LEVEL(in + (J)), diff = a - (VS)BLURRED(VU, WIDEN16_##LEVEL, (J));        \
        const VS sg = diff >> 15, ad = (diff ^ sg) - sg;                                                     \
        const VU q = (VU)ad * vq0 + (MULHU_##LEVEL((VU)ad * vr0, vmagic) >> 6);                              \
        const VS m = sg ^ vneg; /* all ones where the quotient is negative */                                \
        (OUT) = a + ((((VS)q ^ m) - m) & (ad > vth));                                                        \
    } while (0)
#define SHARPEN_BODY(LEVEL, VU, VS, LANES, BLURRED)                                                          \
    do {                                                                                                     \
        const int32_t ap = u->pc < 0 ? -u->pc : u->pc, th = u->th;                                           \
        const VU vq0 = (uint16_t)(ap / 100) - (VU){0}, vr0 = (uint16_t)(ap % 100) - (VU){0};                 \
        const VU vmagic = 41944 - (VU){0};                                                                   \
        const VS vth = (int16_t)(th < -1 ? -1 : th > 255 ? 255 : th) - (VS){0};                              \
        const VS vneg = (int16_t)(u->pc < 0 ? -1 : 0) - (VS){0};                                             \
        size_t j = 0;                                                                                        \
        for (; j + 2 * LANES <= n; j += 2 * LANES) { /* two vectors packed into one store */                 \
            VS v0, v1;                                                                                       \
            SHARPEN_STEP(LEVEL, VU, VS, BLURRED, j, v0);                                                     \
            SHARPEN_STEP(LEVEL, VU, VS, BLURRED, j + LANES, v1);                                             \
            PUT2(LEVEL, out + j, PACK2_##LEVEL(v0, v1), stream);                                             \
        }                                                                                                    \
        if (j + LANES <= n) {                                                                                \
            VS v0;                                                                                           \
            SHARPEN_STEP(LEVEL, VU, VS, BLURRED, j, v0);                                                     \
            STORE8_##LEVEL(out + j, PACK16S_##LEVEL(v0));                                                    \
            j += LANES;                                                                                      \
        }                                                                                                    \
        return j;                                                                                            \
    } while (0)

#define BLURRED_WORDS(VU, WIDEN16, j)                                                                        \
    (__extension__({                                                                                         \
        VU w_;                                                                                               \
        memcpy(&w_, (const uint16_t *)blurred + (j), sizeof w_);                                             \
        w_ - bias;                                                                                           \
    }))
#define BLURRED_BYTES(VU, WIDEN16, j) WIDEN16((const uint8_t *)blurred + (j))
#define SHARPEN_FNS(LEVEL, ATTR, VU, VS, LANES)                                                              \
    ATTR static size_t sharpen_words_##LEVEL(const if_sharpen *u, const uint8_t *in, const void *blurred,    \
                                             uint8_t *out, size_t n, int stream, uint16_t bias) {            \
        SHARPEN_BODY(LEVEL, VU, VS, LANES, BLURRED_WORDS);                                                   \
    }                                                                                                        \
    ATTR static size_t sharpen_bytes_##LEVEL(const if_sharpen *u, const uint8_t *in, const void *blurred,    \
                                             uint8_t *out, size_t n, int stream, uint16_t bias) {            \
        (void)bias;                                                                                          \
        SHARPEN_BODY(LEVEL, VU, VS, LANES, BLURRED_BYTES);                                                   \
    }
SHARPEN_FNS(SSE2, , v8u16, v8i16, 8)
SHARPEN_FNS(AVX2, AVX2_TARGET, v16u16, v16i16, 16)
SHARPEN_FNS(AVX512, AVX512_TARGET, v32u16, v32i16, 32)
#endif

int if_sharpen_setup(if_sharpen *u, int32_t threshold, int32_t percent) {
    *u = (if_sharpen){.th = threshold, .pc = percent};
    if (percent < -MAX_VECTOR_PERCENT || percent > MAX_VECTOR_PERCENT) { /* a table over (input, blurred) */
        uint8_t *lut = malloc(65536);
        if (!lut) return -1;
        for (int32_t a = 0; a < 256; a++)
            for (int32_t b = 0; b < 256; b++) lut[a << 8 | b] = unsharp_one(a, b, threshold, percent);
        u->lut = lut;
        return 0;
    }
#ifdef IF_X86
    if (if_filter_use_avx512()) u->words = sharpen_words_AVX512, u->bytes = sharpen_bytes_AVX512;
    else if (if_filter_use_avx2()) u->words = sharpen_words_AVX2, u->bytes = sharpen_bytes_AVX2;
    else u->words = sharpen_words_SSE2, u->bytes = sharpen_bytes_SSE2;
#endif
    return 0;
}

void if_sharpen_free(if_sharpen *u) {
    free(u->lut);
    u->lut = NULL;
}

void if_sharpen_words(const if_sharpen *u, const uint8_t *in, const uint16_t *blurred, uint8_t *out, size_t n,
                      int stream, uint16_t bias) {
    size_t j = u->words ? u->words(u, in, blurred, out, n, stream, bias) : 0;
    if (u->lut)
        for (; j < n; j++) out[j] = u->lut[(uint32_t)in[j] << 8 | (uint16_t)(blurred[j] - bias)];
    for (; j < n; j++) out[j] = unsharp_one(in[j], (uint16_t)(blurred[j] - bias), u->th, u->pc);
}

/* out[j] from in[j] and its blurred value out[j]. */
static void sharpen_bytes(const if_sharpen *u, const uint8_t *in, uint8_t *out, size_t n) {
    size_t j = u->bytes ? u->bytes(u, in, out, out, n, 0, 0) : 0;
    if (u->lut)
        for (; j < n; j++) out[j] = u->lut[(uint32_t)in[j] << 8 | out[j]];
    for (; j < n; j++) out[j] = unsharp_one(in[j], out[j], u->th, u->pc);
}

int if_unsharp_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const float br = if_gaussian_box_radius((float)f->radius);
    if_sharpen u;
    if (if_sharpen_setup(&u, f->threshold, f->percent) < 0) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    int rc = br != 0.0f ? if_boxblur_fused(in, out, box_setup(br), box_setup(br), 3, &u) : 0;
    if (rc == 0) { /* not for the fused blur: the whole blur first */
        rc = if_boxblur_raw(in, out, br, br, 3, err, err_size);
        if (rc == 0) sharpen_bytes(&u, in->pixels, out->pixels, (size_t)in->width * in->bands * in->height);
    } else if (rc < 0) {
        if_filter_seterr(err, err_size, "out of memory");
    }
    if_sharpen_free(&u);
    return rc < 0 ? -1 : 0;
}
