/* A box blur of one pass each way (BoxBlur) a row at a time, on bytes, in 16-bit lanes. With a single pass
   there is little arithmetic for each byte read, and the three-pass pipeline's widening to words, narrowing and
   column strips (filter_blur_fused.c) cost more than they save: this reads whole rows, as they lie in memory.

   Row y of the result needs rows y-ir-1 .. y+ir+1 of the horizontal pass, so input row t gets its horizontal
   pass while it is in L1 and the vertical pass produces row t - (ir + 1) from a ring of 2 ir + 3 rows (L2).

   Each output sample is computed directly from its 2 ir + 3 taps (the sums are exact integers, so their
   order does not matter), 2 * LANES samples a step: a tap's bytes are loaded as 16-bit words whose low
   bytes feed the even samples and high bytes the odd ones (an AND and a shift, no shuffles), and the two
   halves are joined back by a shift and an OR. Pillow's (acc ww + sf fw + 2^23) >> 24 is taken in 16-bit
   pieces, exactly: with ww = wh 2^16 + wl and fw = fh 2^16 + fl,
       X >> 16 = acc wh + sf fh + 2^7 + hi(acc wl) + hi(sf fl) + carry(lo(acc wl) + lo(sf fl))
   (hi/lo: the high and low 16 bits of a 32-bit product) is below 2^16, so 16-bit wrapping sums give it
   exactly, and the result is (X >> 16) >> 8. When 2^24 - T ww - 2 fw (T = 2 ir + 1; 0 or 1 by fw's
   rounding) is 0, as for GaussianBlur(2)'s radius, two products do: then 2 fw = 2^24 - T ww, ww is even, and
       X >> 24 = (w2 D + 2^23 (sf + 1)) >> 24,   D = 2 acc - T sf (|D| < 2^15), w2 = ww / 2 = w2h 2^16 + w2l,
   so X >> 24 = (w2h D + hi(D w2l) + 2^7 (sf + 1)) >> 8 with hi a signed multiply-high (w2l taken in
   -2^15 .. 2^15 - 1, w2h raised by one when w2l had to be lowered), the sum again below 2^16. */
#pragma STDC FP_CONTRACT OFF /* no floating point here; the pragma only keeps every filter file alike */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_box.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Radii above this (box radius ir, integer part) take filter_blur.c's whole-image passes instead. */
#define ROWS8_MAX_IR 6

static inline int64_t clampi(int64_t i, int64_t last) { return i < 0 ? 0 : (i > last ? last : i); }

static inline uint8_t box_one(uint32_t acc, uint32_t sf, box_params p) {
    return (uint8_t)((acc * p.ww + sf * p.fw + (1u << 23)) >> 24);
}

/* Horizontal pass, pixels [i0, i1) of a row of W pixels of B bytes, taps clamped: the row's ends. */
static void hpass_scalar(const uint8_t *s, uint8_t *d, int64_t W, int64_t B, box_params p, int64_t i0, int64_t i1) {
    const int64_t ir = p.ir, last = W - 1;
    for (int64_t i = i0; i < i1; i++)
        for (int64_t c = 0; c < B; c++) {
            uint32_t acc = 0;
            for (int64_t k = -ir; k <= ir; k++) acc += s[clampi(i + k, last) * B + c];
            const uint32_t sf = (uint32_t)s[clampi(i - ir - 1, last) * B + c] + s[clampi(i + ir + 1, last) * B + c];
            d[i * B + c] = box_one(acc, sf, p);
        }
}

/* Vertical pass, samples [j0, j1): rows[k] is row y - ir - 1 + k (clamped), k < 2 ir + 3. */
static void vpass_scalar(const uint8_t *const *rows, uint8_t *d, box_params p, size_t j0, size_t j1) {
    const int64_t taps = 2 * p.ir + 3;
    for (size_t j = j0; j < j1; j++) {
        uint32_t acc = 0;
        for (int64_t k = 1; k < taps - 1; k++) acc += rows[k][j];
        d[j] = box_one(acc, (uint32_t)rows[0][j] + rows[taps - 1][j], p);
    }
}

typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
typedef uint16_t v32u16 __attribute__((vector_size(64)));
#define MULHI_SSE2(a, b) ((v8u16)_mm_mulhi_epu16((__m128i)(a), (__m128i)(b)))
#define MULHI_AVX2(a, b) ((v16u16)_mm256_mulhi_epu16((__m256i)(a), (__m256i)(b)))
#define MULHIS_SSE2(a, b) ((v8u16)_mm_mulhi_epi16((__m128i)(a), (__m128i)(b)))
#define MULHIS_AVX2(a, b) ((v16u16)_mm256_mulhi_epi16((__m256i)(a), (__m256i)(b)))
#define MULHI_AVX512(a, b) ((v32u16)_mm512_mulhi_epu16((__m512i)(a), (__m512i)(b)))
#define MULHIS_AVX512(a, b) ((v32u16)_mm512_mulhi_epi16((__m512i)(a), (__m512i)(b)))

/* The constants of BOX16, in scope of the row functions. */
#define BOX16_CONSTANTS(VU)                                                                                  \
    const VU vwh = (uint16_t)(p.ww >> 16) - (VU){0}, vwl = (uint16_t)(p.ww & 0xFFFF) - (VU){0};              \
    const VU vfh = (uint16_t)(p.fw >> 16) - (VU){0}, vfl = (uint16_t)(p.fw & 0xFFFF) - (VU){0};              \
    const VU v128 = 128 - (VU){0}, v129 = 129 - (VU){0}, vlow = 255 - (VU){0};                               \
    const uint32_t taps_ = (uint32_t)(2 * p.ir + 1), w2_ = p.ww / 2, w2up_ = (w2_ & 0x8000) ? 1 : 0;         \
    const int fw0 = p.fw == 0, even = !fw0 && 16777216u - taps_ * p.ww - 2 * p.fw == 0;                      \
    const VU vtaps = (uint16_t)taps_ - (VU){0}, vw2h = (uint16_t)((w2_ >> 16) + w2up_) - (VU){0};            \
    const VU vw2l = (uint16_t)(w2_ & 0xFFFF) - (VU){0} /* as int16: w2l - 2^16 when raised */

/* out = (acc ww + sf fw + 2^23) >> 24, 16-bit lanes (see the top of the file). */
#define BOX16(VU, MULHI, MULHIS, acc, sf, out)                                                               \
    do {                                                                                                     \
        VU x_;                                                                                               \
        if (even) {                                                                                          \
            const VU d_ = ((acc) << 1) - (sf) * vtaps;                                                       \
            x_ = d_ * vw2h + MULHIS(d_, vw2l) + ((sf) << 7) + v128;                                          \
        } else if (!fw0) {                                                                                   \
            /* the carry is 1 + (s_ >= l_), a true compare being all ones (minus one) */                     \
            const VU l_ = (acc) * vwl, s_ = l_ + (sf) * vfl;                                                 \
            x_ = (acc) * vwh + MULHI(acc, vwl) + (sf) * vfh + MULHI(sf, vfl) + v129 + (VU)(s_ >= l_);        \
        } else {                                                                                             \
            x_ = (acc) * vwh + MULHI(acc, vwl) + v128;                                                       \
        }                                                                                                    \
        (out) = x_ >> 8;                                                                                     \
    } while (0)

/* Steps of 2 * LANES samples over [j0, j1), the last one moved back to end at j1 (recomputing a few: the
   output never aliases the input). TAP(k) is the address of tap k (k = 0 .. 2 IR + 2) for sample j. */
#define PASS_BODY(VU, LANES, MULHI, MULHIS, IR, TAP)                                                         \
    do {                                                                                                     \
        BOX16_CONSTANTS(VU);                                                                                 \
        for (size_t j = j0, next; j + 2 * LANES <= j1; j = next) {                                           \
            next = j + 2 * LANES;                                                                            \
            if (next < j1 && next + 2 * LANES > j1) next = j1 - 2 * LANES;                                   \
            VU x, ae = {0}, ao = {0}, se = {0}, so = {0};                                                    \
            for (int k = 1; k <= 2 * (IR) + 1; k++) {                                                        \
                memcpy(&x, TAP(k), sizeof x);                                                                \
                ae += x & vlow;                                                                              \
                ao += x >> 8;                                                                                \
            }                                                                                                \
            if (!fw0) {                                                                                      \
                VU y;                                                                                        \
                memcpy(&x, TAP(0), sizeof x);                                                                \
                memcpy(&y, TAP(2 * (IR) + 2), sizeof y);                                                     \
                se = (x & vlow) + (y & vlow);                                                                \
                so = (x >> 8) + (y >> 8);                                                                    \
            }                                                                                                \
            VU oe, oo;                                                                                       \
            BOX16(VU, MULHI, MULHIS, ae, se, oe);                                                            \
            BOX16(VU, MULHI, MULHIS, ao, so, oo);                                                            \
            const VU bytes = oe | (oo << 8);                                                                 \
            memcpy(d + j, &bytes, sizeof bytes);                                                             \
        }                                                                                                    \
    } while (0)

#define IR_SWITCH(BODY)                                                                                      \
    switch (p.ir) {                                                                                          \
    case 0: BODY(0); break;                                                                                  \
    case 1: BODY(1); break;                                                                                  \
    case 2: BODY(2); break;                                                                                  \
    case 3: BODY(3); break;                                                                                  \
    case 4: BODY(4); break;                                                                                  \
    case 5: BODY(5); break;                                                                                  \
    default: BODY(6); break;                                                                                 \
    }

/* Samples [j0, j1) of a horizontal pass, all of whose taps lie inside the row (s: the row, B bytes a pixel). */
#define HTAP(k) (s + j + (size_t)B * (size_t)(k) - (size_t)B * (size_t)(p.ir + 1))
#define HPASS_SSE2(IR) PASS_BODY(v8u16, 8, MULHI_SSE2, MULHIS_SSE2, IR, HTAP)
#define HPASS_AVX2(IR) PASS_BODY(v16u16, 16, MULHI_AVX2, MULHIS_AVX2, IR, HTAP)
#define HPASS_AVX512(IR) PASS_BODY(v32u16, 32, MULHI_AVX512, MULHIS_AVX512, IR, HTAP)
/* Samples [j0, j1) of a vertical pass (rows as vpass_scalar's). */
#define VTAP(k) (rows[k] + j)
#define VPASS_SSE2(IR) PASS_BODY(v8u16, 8, MULHI_SSE2, MULHIS_SSE2, IR, VTAP)
#define VPASS_AVX2(IR) PASS_BODY(v16u16, 16, MULHI_AVX2, MULHIS_AVX2, IR, VTAP)
#define VPASS_AVX512(IR) PASS_BODY(v32u16, 32, MULHI_AVX512, MULHIS_AVX512, IR, VTAP)

typedef void (*hpass_fn)(const uint8_t *s, uint8_t *d, size_t B, box_params p, size_t j0, size_t j1);
typedef void (*vpass_fn)(const uint8_t *const *rows, uint8_t *d, box_params p, size_t j0, size_t j1);

static void hpass_base(const uint8_t *s, uint8_t *d, size_t B, box_params p, size_t j0, size_t j1) {
    IR_SWITCH(HPASS_SSE2)
}
static void vpass_base(const uint8_t *const *rows, uint8_t *d, box_params p, size_t j0, size_t j1) {
    IR_SWITCH(VPASS_SSE2)
}
__attribute__((target("avx2"))) static void hpass_avx2(const uint8_t *s, uint8_t *d, size_t B, box_params p,
                                                       size_t j0, size_t j1) {
    IR_SWITCH(HPASS_AVX2)
}
__attribute__((target("avx2"))) static void vpass_avx2(const uint8_t *const *rows, uint8_t *d, box_params p,
                                                       size_t j0, size_t j1) {
    IR_SWITCH(VPASS_AVX2)
}
__attribute__((target("avx512f,avx512bw"))) static void hpass_avx512(const uint8_t *s, uint8_t *d, size_t B,
                                                                     box_params p, size_t j0, size_t j1) {
    IR_SWITCH(HPASS_AVX512)
}
__attribute__((target("avx512f,avx512bw"))) static void vpass_avx512(const uint8_t *const *rows, uint8_t *d,
                                                                     box_params p, size_t j0, size_t j1) {
    IR_SWITCH(VPASS_AVX512)
}

/* One horizontal pass over a whole row: SIMD inside, scalar at the ends (and for rows too short: the SIMD steps
   take 2 lanes samples). */
static void hpass_row(hpass_fn fn, size_t lanes, const uint8_t *s, uint8_t *d, uint32_t W, uint32_t B,
                      box_params p) {
    const int64_t lo = p.ir + 1, hi = (int64_t)W - p.ir - 1; /* pixels whose taps are all inside */
    if (hi - lo < 0 || (size_t)(hi - lo) * B < 2 * lanes) {
        hpass_scalar(s, d, W, B, p, 0, W);
        return;
    }
    hpass_scalar(s, d, W, B, p, 0, lo);
    fn(s, d, B, p, (size_t)lo * B, (size_t)hi * B);
    hpass_scalar(s, d, W, B, p, hi, W);
}

static void vpass_row(vpass_fn fn, size_t lanes, const uint8_t *const *rows, uint8_t *d, box_params p, size_t n) {
    if (n < 2 * lanes) vpass_scalar(rows, d, p, 0, n);
    else fn(rows, d, p, 0, n);
}

int if_boxblur_rows8(const if_image *in, if_image *out, box_params px, box_params py) {
    if (px.ir > ROWS8_MAX_IR || py.ir > ROWS8_MAX_IR || in->sample_size != 1) return 0;
    const uint32_t W = in->width, H = in->height, B = in->bands;
    const size_t n = (size_t)W * B;
    const int64_t span = 2 * py.ir + 3; /* rows in the ring */
    uint8_t *ring = malloc(n * (size_t)span + 64);
    if (!ring) return -1;
    const int wide = if_filter_use_avx512(), avx2 = if_filter_use_avx2();
    const hpass_fn hfn = wide ? hpass_avx512 : avx2 ? hpass_avx2 : hpass_base;
    const vpass_fn vfn = wide ? vpass_avx512 : avx2 ? vpass_avx2 : vpass_base;
    const size_t lanes = wide ? 32 : avx2 ? 16 : 8;
    const int64_t lag = py.ir + 1, last = (int64_t)H - 1;
    for (int64_t t = 0; t <= last + lag; t++) {
        if (t <= last) hpass_row(hfn, lanes, in->pixels + (size_t)t * n, ring + n * (size_t)(t % span), W, B, px);
        const int64_t y = t - lag; /* the vertical pass: row y from the ring */
        if (y < 0) continue;
        const uint8_t *rows[2 * ROWS8_MAX_IR + 3];
        for (int64_t k = 0; k < span; k++) rows[k] = ring + n * (size_t)(clampi(y - lag + k, last) % span);
        vpass_row(vfn, lanes, rows, out->pixels + (size_t)y * n, py, n);
    }
    free(ring);
    return 1;
}

#else
int if_boxblur_rows8(const if_image *in, if_image *out, box_params px, box_params py) {
    (void)in, (void)out, (void)px, (void)py;
    return 0;
}
#endif
