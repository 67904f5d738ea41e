/* UnsharpMask: GaussianBlur, then Pillow's fixed-point sharpening step per sample:
       diff = in - blurred;  out = in + diff * percent / 100 (C's truncating division) where |diff| > threshold
   clamped to 0..255. The blur's rows are sharpened as they come out of it (filter_blur_fused.c), in cache. */
#pragma STDC FP_CONTRACT OFF /* no floating point here; the pragma only keeps every filter file alike */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_box.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IF_X86 1
#endif

/* The vector step takes |percent| <= MAX_VECTOR_PERCENT: then |diff| * |percent| / 100 is, with
   |percent| = 100 q0 + r0, |diff| q0 + floor(|diff| r0 / 100), every term below 2^16 (|diff| r0 <= 25245),
   and floor(x / 100) = (x * 41944) >> 22 for x < 43690; the quotient's sign is diff's times percent's. */
#define MAX_VECTOR_PERCENT 514

static inline uint8_t unsharp_one(int32_t a, int32_t b, int32_t th, int32_t pc) {
    const int32_t diff = a - b, ad = diff < 0 ? -diff : diff;
    int32_t v = a;
    if (ad > th) v = a + (int32_t)((uint32_t)diff * (uint32_t)pc) / 100; /* 32-bit product, as in C int */
    return (uint8_t)(v <= 0 ? 0 : (v >= 255 ? 255 : v));
}

#ifdef IF_X86
typedef int16_t v8i16 __attribute__((vector_size(16)));
typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef int16_t v16i16 __attribute__((vector_size(32)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
#define MULHI_SSE2(a, b) ((v8u16)_mm_mulhi_epu16((__m128i)(a), (__m128i)(b)))
#define MULHI_AVX2(a, b) ((v16u16)_mm256_mulhi_epu16((__m256i)(a), (__m256i)(b)))
typedef int16_t v32i16 __attribute__((vector_size(64)));
typedef uint16_t v32u16 __attribute__((vector_size(64)));
#define MULHI_AVX512(a, b) ((v32u16)_mm512_mulhi_epu16((__m512i)(a), (__m512i)(b)))

/* 2 * LANES samples a step, as 16-bit words split into even samples (low bytes) and odd ones (high bytes);
   returns how many samples it did. */
#define UNSHARP_BODY(VH, VU, LANES, MULHI)                                                                   \
    do {                                                                                                     \
        const int32_t ap = pc < 0 ? -pc : pc;                                                                \
        const VU vq0 = (uint16_t)(ap / 100) - (VU){0}, vr0 = (uint16_t)(ap % 100) - (VU){0};                 \
        const VU vmagic = 41944 - (VU){0}, vlow = 255 - (VU){0};                                             \
        const VH vth = (int16_t)(th < -1 ? -1 : th > 255 ? 255 : th) - (VH){0};                              \
        const VH vneg = (int16_t)(pc < 0 ? -1 : 0) - (VH){0};                                                \
        const VH vzero = {0}, v255 = 255 - (VH){0};                                                          \
        size_t i = 0;                                                                                        \
        for (; i + 2 * LANES <= n; i += 2 * LANES) {                                                         \
            VU x, y;                                                                                         \
            memcpy(&x, s + i, sizeof x);                                                                     \
            memcpy(&y, d + i, sizeof y);                                                                     \
            const VH a[2] = {(VH)(x & vlow), (VH)(x >> 8)}, b[2] = {(VH)(y & vlow), (VH)(y >> 8)};           \
            VH o[2];                                                                                         \
            for (int e = 0; e < 2; e++) {                                                                    \
                const VH diff = a[e] - b[e], sg = diff >> 15, ad = (diff ^ sg) - sg;                         \
                const VU q = (VU)ad * vq0 + (MULHI((VU)ad * vr0, vmagic) >> 6);                              \
                const VH m = sg ^ vneg; /* all ones where the quotient is negative */                        \
                VH v = a[e] + ((((VH)q ^ m) - m) & (ad > vth));                                              \
                v &= v > vzero;                                                                              \
                const VH big = v > v255;                                                                     \
                o[e] = (v & ~big) | (v255 & big);                                                            \
            }                                                                                                \
            const VU bytes = (VU)o[0] | ((VU)o[1] << 8);                                                     \
            memcpy(d + i, &bytes, sizeof bytes);                                                             \
        }                                                                                                    \
        return i;                                                                                            \
    } while (0)

typedef size_t (*unsharp_fn)(const uint8_t *s, uint8_t *d, size_t n, int32_t th, int32_t pc);
static size_t unsharp_base(const uint8_t *s, uint8_t *d, size_t n, int32_t th, int32_t pc) {
    UNSHARP_BODY(v8i16, v8u16, 8, MULHI_SSE2);
}
__attribute__((target("avx2"))) static size_t unsharp_avx2(const uint8_t *s, uint8_t *d, size_t n, int32_t th,
                                                           int32_t pc) {
    UNSHARP_BODY(v16i16, v16u16, 16, MULHI_AVX2);
}
__attribute__((target("avx512f,avx512bw"))) static size_t unsharp_avx512(const uint8_t *s, uint8_t *d, size_t n,
                                                                         int32_t th, int32_t pc) {
    UNSHARP_BODY(v32i16, v32u16, 32, MULHI_AVX512);
}
#endif

/* The table over (input, blurred) pairs, for percents outside the vector's range. */
static uint8_t *unsharp_table(int32_t th, int32_t pc) {
    uint8_t *lut = malloc(65536);
    if (!lut) return NULL;
    for (int32_t a = 0; a < 256; a++)
        for (int32_t b = 0; b < 256; b++) lut[a << 8 | b] = unsharp_one(a, b, th, pc);
    return lut;
}

typedef struct unsharp_step {
    int32_t th, pc;
    const uint8_t *lut; /* NULL: the vector step, then unsharp_one for the last samples */
} unsharp_step;

/* d[i] = the sharpened sample from s[i] and its blurred value d[i], i < n. */
static void unsharp_run(const unsharp_step *u, const uint8_t *s, uint8_t *d, size_t n) {
    if (u->lut) {
        for (size_t i = 0; i < n; i++) d[i] = u->lut[(uint32_t)s[i] << 8 | d[i]];
        return;
    }
    size_t done = 0;
#ifdef IF_X86
    done = (if_filter_use_avx512() ? unsharp_avx512 : if_filter_use_avx2() ? unsharp_avx2 : unsharp_base)(s, d, n, u->th,
                                                                                                      u->pc);
#endif
    for (size_t i = done; i < n; i++) d[i] = unsharp_one(s[i], d[i], u->th, u->pc);
}

static void unsharp_row(const uint8_t *in_row, uint8_t *row, size_t n, void *ctx) {
    unsharp_run(ctx, in_row, row, n);
}

int if_unsharp_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size) {
    const float br = if_gaussian_box_radius((float)f->radius);
    const size_t n = (size_t)in->width * in->bands * in->height;
    unsharp_step u = {.th = f->threshold, .pc = f->percent, .lut = NULL};
    uint8_t *lut = NULL;
    if (u.pc < -MAX_VECTOR_PERCENT || u.pc > MAX_VECTOR_PERCENT) {
        u.lut = lut = unsharp_table(u.th, u.pc);
        if (!lut) {
            if_filter_seterr(err, err_size, "out of memory");
            return -1;
        }
    }
    int rc = br != 0.0f ? if_boxblur_fused(in, out, box_setup(br), box_setup(br), 3, unsharp_row, &u) : 0;
    if (rc == 0) { /* not for the fused blur: the whole blur first */
        rc = if_boxblur_raw(in, out, br, br, 3, err, err_size);
        if (rc == 0) unsharp_run(&u, in->pixels, out->pixels, n);
    } else if (rc < 0) {
        if_filter_seterr(err, err_size, "out of memory");
    }
    free(lut);
    return rc < 0 ? -1 : 0;
}
