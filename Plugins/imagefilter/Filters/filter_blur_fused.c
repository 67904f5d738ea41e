/* Pillow's box blur of three passes each way (GaussianBlur, UnsharpMask's blur; BoxBlur's single pass takes
   filter_blur_rows8.c unless if_filter_set_box_strips) in cache-sized strips, in 16-bit lanes.
   (A little over 400 lines: the four ways of the pass arithmetic, their instances per SIMD level and the strip
   pipeline that runs them are one unit; the lanes themselves are in filter_blur_lanes.h.)

   The image is cut into vertical strips whose working set fits in L1. In a strip, the passes run as a
   pipeline down the rows: input row t is widened to 16-bit words and gets every horizontal pass while it is
   in L1 (each pass over the strip plus the margin the later passes need, the image's edge pixels replicated
   into a pad where the strip meets an edge), and vertical pass s produces its row t - s (ir + 1) from a
   ring of 2 ir + 3 rows of pass s - 1. Samples stay 16-bit words, in their own order, from the input's
   widening to the last vertical pass, which is narrowed back to bytes. Input and output are touched once.

   Each output sample is computed from its 2 ir + 3 taps (exact integer sums: the order does not matter),
   LANES samples a step (8 SSE2, 16 AVX2, 32 AVX-512), by one of four exact ways of Pillow's
   X = (acc ww + sf fw + 2^23) >> 24 (acc: the 2 ir + 1 inner taps, sf: the two outer ones), picked per radius:
   - FAST, when 2^24 - T ww - 2 fw = 0 (T = 2 ir + 1; GaussianBlur(2)'s radius among them): then ww is even,
     X = floor((w2 D + 2^23 (sf + 1)) / 2^24) with w2 = ww / 2 and D = 2 acc - T sf (|D| <= 510 T), and
     with a 15-bit M, X = (mulhs(D, M) + sf + 1) >> 1 = floor((128 M D + 2^23 (sf + 1)) / 2^24). Both floors
     split into floor((sf + 1) / 2) plus a term that depends on D and the parity of sf + 1 only, so M is
     used only after both terms are compared for every D of the range and both parities (fast_multiplier).
     When M is a multiple of 4 (GaussianBlur(2)'s 17476), the words carry a bias from pass to pass and each
     FAST pass takes one multiply-high and an average (FAST_BIASED, see bias_passes); the last pass's narrowing
     takes the bias off.
   - EVEN, the same class when no M passes: X >> 24 = (w2h D + hi(D w2l) + 2^7 (sf + 1)) >> 8, with
     w2 = w2h 2^16 + w2l, hi a signed multiply-high (w2l taken in -2^15 .. 2^15 - 1, w2h raised by one when
     w2l had to be lowered); every partial sum below 2^16.
   - GENERAL: with ww = wh 2^16 + wl and fw = fh 2^16 + fl,
       X >> 16 = acc wh + sf fh + 2^7 + hi(acc wl) + hi(sf fl) + carry(lo(acc wl) + lo(sf fl)),
     below 2^16, so 16-bit wrapping sums give it exactly; the result is (X >> 16) >> 8.
   - FW0 (integer radius, fw = 0): GENERAL without the outer taps. */
#pragma STDC FP_CONTRACT OFF /* no floating point here; the pragma only keeps every filter file alike */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_box.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include "filter_blur_lanes.h"

/* Radii above this (box radius ir, integer part) take filter_blur.c's whole-image passes instead. */
#define FUSED_MAX_IR 6
/* The strip's rings, row buffers and pads, in 16-bit words (on the stack, in L1 while the strip runs). */
#define SCRATCH_WORDS 18432
/* How far ahead a strip's input and output rows are fetched into the cache. */
#define PREFETCH_ROWS 8

enum { BOX_FAST, BOX_FAST_BIASED, BOX_EVEN, BOX_GENERAL, BOX_FW0, BOX_KINDS };

/* One pass's arithmetic: its kind, the 16-bit constants that kind uses, and (FAST_BIASED) the bias it adds. */
typedef struct box16 {
    box_params p;
    int kind;
    uint16_t c0, c1, c2, c3, step;
} box16;

static inline int64_t clampi(int64_t i, int64_t last) { return i < 0 ? 0 : (i > last ? last : i); }

static inline int64_t floor_shift24(int64_t x) { return x >= 0 ? x >> 24 : -((-x + 16777215) >> 24); }

/* The M of FAST for this radius, or 0 when no 15-bit M agrees with Pillow's formula (see the top). */
static uint16_t fast_multiplier(box_params p) {
    const uint32_t T = (uint32_t)(2 * p.ir + 1);
    if (p.fw == 0 || 16777216u - T * p.ww - 2 * p.fw != 0) return 0;
    const int64_t w2 = p.ww / 2, dmax = (int64_t)T * 510;
    for (int64_t m = w2 >> 7; m <= (w2 >> 7) + 1 && m <= 32767; m++) {
        int ok = 1;
        for (int64_t d = -dmax; d <= dmax && ok; d++)
            for (int64_t par = 0; par < 2 && ok; par++)
                ok = floor_shift24(d * w2 + (par << 23)) == floor_shift24(d * m * 128 + (par << 23));
        if (ok) return (uint16_t)m;
    }
    return 0;
}

static box16 box16_setup(box_params p) {
    box16 b = {.p = p};
    const uint32_t T = (uint32_t)(2 * p.ir + 1);
    const uint16_t m = fast_multiplier(p);
    if (m) {
        b.kind = BOX_FAST;
        b.c0 = (uint16_t)T;
        b.c1 = m;
    } else if (p.fw != 0 && 16777216u - T * p.ww - 2 * p.fw == 0) {
        const uint32_t w2 = p.ww / 2, up = (w2 & 0x8000) ? 1 : 0;
        b.kind = BOX_EVEN;
        b.c0 = (uint16_t)T;
        b.c1 = (uint16_t)((w2 >> 16) + up);
        b.c2 = (uint16_t)(w2 & 0xFFFF); /* as int16: w2l - 2^16 when raised */
    } else {
        b.kind = p.fw == 0 ? BOX_FW0 : BOX_GENERAL;
        b.c0 = (uint16_t)(p.ww >> 16);
        b.c1 = (uint16_t)(p.ww & 0xFFFF);
        b.c2 = (uint16_t)(p.fw >> 16);
        b.c3 = (uint16_t)(p.fw & 0xFFFF);
    }
    return b;
}

/* FAST passes whose M is a multiple of 4 (both ways) as FAST_BIASED when the words stay in range: each adds
   step = M / 4 to what it outputs, its inputs' bias cancels in D = 2 acc - T sf, and
       (mulhs(D, M) + sf + 1) >> 1 + bias + M / 4 = avg(mulhu(D + 2^15, M), sf + 2 bias)
   (mulhu(D + 2^15, M) = mulhs(D, M) + M / 2, exactly: M is even). acc may wrap (D is taken mod 2^16); the outer
   taps' sum 2 (255 + bias) must not: the bias before the last pass stays below 32512. */
static void bias_passes(box16 *bx, box16 *by, int passes) {
    if (bx->kind != BOX_FAST || by->kind != BOX_FAST || bx->c1 % 4 || by->c1 % 4) return;
    if (passes * bx->c1 / 4 + (passes - 1) * by->c1 / 4 >= 32512) return;
    bx->kind = by->kind = BOX_FAST_BIASED;
    bx->step = bx->c1 / 4;
    by->step = by->c1 / 4;
}

/* d[j], j < n, from taps tap[k][j], k = 0 .. 2 ir + 2 (tap 0 and 2 ir + 2 the outer ones) holding samples plus
   `bias`: Pillow's formula, plus bias + step. */
static void pass_scalar(const uint16_t *const *tap, uint16_t *d, size_t n, const box16 *b, uint16_t bias) {
    const int64_t taps = 2 * b->p.ir + 3;
    for (size_t j = 0; j < n; j++) {
        uint32_t acc = 0;
        for (int64_t k = 1; k < taps - 1; k++) acc += (uint16_t)(tap[k][j] - bias);
        const uint32_t sf = (uint32_t)(uint16_t)(tap[0][j] - bias) + (uint16_t)(tap[taps - 1][j] - bias);
        d[j] = (uint16_t)(((acc * b->p.ww + sf * b->p.fw + (1u << 23)) >> 24) + bias + b->step);
    }
}

/* LANES samples a step over [0, n) (n >= LANES), two steps a turn, the last step moved back to end at n
   (recomputing a few: the output never aliases the taps). IR < 0: the radius from b at run time. */
#define PASS_STEP(VU, MULHU, MULHS, AVG, KIND, J)                                                            \
    do {                                                                                                     \
        const size_t j_ = (J);                                                                               \
        VU acc, x, y, sf = {0}, out;                                                                         \
        memcpy(&acc, tp[1] + j_, sizeof acc);                                                                \
        for (int k = 2; k < outer_; k++) {                                                                   \
            memcpy(&x, tp[k] + j_, sizeof x);                                                                \
            acc += x;                                                                                        \
        }                                                                                                    \
        if ((KIND) != BOX_FW0) {                                                                             \
            memcpy(&x, tp[0] + j_, sizeof x);                                                                \
            memcpy(&y, tp[outer_] + j_, sizeof y);                                                           \
            sf = x + y;                                                                                      \
        }                                                                                                    \
        if ((KIND) == BOX_FAST) {                                                                            \
            const VU d_ = acc + acc - sf * c0;                                                               \
            out = (MULHS(d_, c1) + sf + one) >> 1;                                                           \
        } else if ((KIND) == BOX_FAST_BIASED) {                                                              \
            const VU d_ = acc + acc - sf * c0;                                                               \
            out = AVG(MULHU(d_ ^ v8000, c1), sf);                                                            \
        } else if ((KIND) == BOX_EVEN) {                                                                     \
            const VU d_ = acc + acc - sf * c0;                                                               \
            out = (d_ * c1 + MULHS(d_, c2) + (sf << 7) + v128) >> 8;                                         \
        } else if ((KIND) == BOX_GENERAL) {                                                                  \
            /* the carry is 1 + (s_ >= l_), a true compare being all ones (minus one) */                     \
            const VU l_ = acc * c1, s_ = l_ + sf * c3;                                                       \
            out = (acc * c0 + MULHU(acc, c1) + sf * c2 + MULHU(sf, c3) + v129 + (VU)(s_ >= l_)) >> 8;        \
        } else {                                                                                             \
            out = (acc * c0 + MULHU(acc, c1) + v128) >> 8;                                                   \
        }                                                                                                    \
        memcpy(d + j_, &out, sizeof out);                                                                    \
    } while (0)
#define PASS_BODY(VU, LANES, MULHU, MULHS, AVG, IR, KIND)                                                    \
    do {                                                                                                     \
        const int ir_ = (IR) >= 0 ? (IR) : (int)b->p.ir, outer_ = 2 * ir_ + 2;                               \
        const VU c0 = b->c0 - (VU){0}, c1 = b->c1 - (VU){0}, c2 = b->c2 - (VU){0}, c3 = b->c3 - (VU){0};     \
        const VU one = 1 - (VU){0}, v128 = 128 - (VU){0}, v129 = 129 - (VU){0}, v8000 = 0x8000 - (VU){0};    \
        (void)c2, (void)c3, (void)one, (void)v128, (void)v129, (void)v8000;                                  \
        const uint16_t *tp[2 * FUSED_MAX_IR + 3];                                                            \
        for (int k = 0; k <= outer_; k++) tp[k] = tap[k];                                                    \
        size_t j = 0;                                                                                        \
        for (; j + 2 * LANES <= n; j += 2 * LANES) {                                                         \
            PASS_STEP(VU, MULHU, MULHS, AVG, KIND, j);                                                       \
            PASS_STEP(VU, MULHU, MULHS, AVG, KIND, j + LANES);                                               \
        }                                                                                                    \
        if (j + LANES <= n) {                                                                                \
            PASS_STEP(VU, MULHU, MULHS, AVG, KIND, j);                                                       \
            j += LANES;                                                                                      \
        }                                                                                                    \
        if (j < n) PASS_STEP(VU, MULHU, MULHS, AVG, KIND, n - LANES);                                        \
    } while (0)

typedef void (*pass_fn)(const uint16_t *const *tap, uint16_t *d, size_t n, const box16 *b);

/* One level's functions: a pass per (radius class, kind) and the widening / narrowing of a row. */
#define PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, KIND)                                    \
    ATTR static void pass_##LEVEL##_##IRN##_##KIND(const uint16_t *const *tap, uint16_t *d, size_t n,        \
                                                   const box16 *b) {                                         \
        PASS_BODY(VU, LANES, MULHU, MULHS, AVG, IR, KIND);                                                   \
    }
#define PASS_KINDS(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR)                                       \
    PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, BOX_FAST)                                    \
    PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, BOX_FAST_BIASED)                             \
    PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, BOX_EVEN)                                    \
    PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, BOX_GENERAL)                                 \
    PASS_FN(LEVEL, ATTR, VU, LANES, MULHU, MULHS, AVG, IRN, IR, BOX_FW0)
#define PASS_ROW(LEVEL, IRN) {pass_##LEVEL##_##IRN##_BOX_FAST, pass_##LEVEL##_##IRN##_BOX_FAST_BIASED,       \
                              pass_##LEVEL##_##IRN##_BOX_EVEN,                                               \
                              pass_##LEVEL##_##IRN##_BOX_GENERAL, pass_##LEVEL##_##IRN##_BOX_FW0}
/* Widening of n >= LANES bytes to words; narrowing of the whole vectors of n words (samples plus bias) to bytes,
   two a store (returns how many it did; non-temporal stores when `stream`, d then aligned and n a multiple of
   2 LANES). */
#define CONVERT_FNS(LEVEL, ATTR, VU, LANES)                                                                  \
    ATTR static void widen_##LEVEL(const uint8_t *s, uint16_t *d, size_t n) {                                \
        for (size_t j = 0, next; j + LANES <= n; j = next) {                                                 \
            next = j + LANES < n && j + 2 * LANES > n ? n - LANES : j + LANES;                               \
            const VU x = WIDEN16_##LEVEL(s + j);                                                             \
            memcpy(d + j, &x, sizeof x);                                                                     \
        }                                                                                                    \
    }                                                                                                        \
    ATTR static size_t narrow_##LEVEL(const uint16_t *s, uint8_t *d, size_t n, int stream, uint16_t bias) {  \
        size_t j = 0;                                                                                        \
        for (; j + 2 * LANES <= n; j += 2 * LANES) {                                                         \
            VU x, y;                                                                                         \
            memcpy(&x, s + j, sizeof x);                                                                     \
            memcpy(&y, s + j + LANES, sizeof y);                                                             \
            PUT2(LEVEL, d + j, PACK2_##LEVEL(x - bias, y - bias), stream);                                   \
        }                                                                                                    \
        if (j + LANES <= n) {                                                                                \
            VU x;                                                                                            \
            memcpy(&x, s + j, sizeof x);                                                                     \
            STORE8_##LEVEL(d + j, PACK16_##LEVEL(x - bias));                                                 \
            j += LANES;                                                                                      \
        }                                                                                                    \
        return j;                                                                                            \
    }
#define LEVEL_FNS(level, LEVEL, ATTR, VU, LANES)                                                             \
    PASS_KINDS(level, ATTR, VU, LANES, MULHU_##LEVEL, MULHS_##LEVEL, AVG_##LEVEL, 0, 0)                      \
    PASS_KINDS(level, ATTR, VU, LANES, MULHU_##LEVEL, MULHS_##LEVEL, AVG_##LEVEL, 1, 1)                      \
    PASS_KINDS(level, ATTR, VU, LANES, MULHU_##LEVEL, MULHS_##LEVEL, AVG_##LEVEL, 2, 2)                      \
    PASS_KINDS(level, ATTR, VU, LANES, MULHU_##LEVEL, MULHS_##LEVEL, AVG_##LEVEL, 3, 3)                      \
    PASS_KINDS(level, ATTR, VU, LANES, MULHU_##LEVEL, MULHS_##LEVEL, AVG_##LEVEL, any, -1)                   \
    CONVERT_FNS(LEVEL, ATTR, VU, LANES)                                                                      \
    static const pass_fn passes_##level[5][BOX_KINDS] = {PASS_ROW(level, 0), PASS_ROW(level, 1),             \
                                                         PASS_ROW(level, 2), PASS_ROW(level, 3),             \
                                                         PASS_ROW(level, any)};

LEVEL_FNS(sse2, SSE2, , v8u16, 8)
LEVEL_FNS(avx2, AVX2, AVX2_TARGET, v16u16, 16)
LEVEL_FNS(avx512, AVX512, AVX512_TARGET, v32u16, 32)

/* The functions of the widest level allowed, its vector width in samples and whether it has non-temporal
   stores. */
typedef struct level_fns {
    const pass_fn (*passes)[BOX_KINDS];
    void (*widen)(const uint8_t *s, uint16_t *d, size_t n);
    size_t (*narrow)(const uint16_t *s, uint8_t *d, size_t n, int stream, uint16_t bias);
    size_t lanes;
    int streams;
} level_fns;

static level_fns pick_level(void) {
    if (if_filter_use_avx512())
        return (level_fns){passes_avx512, widen_AVX512, narrow_AVX512, 32, 1};
    if (if_filter_use_avx2()) return (level_fns){passes_avx2, widen_AVX2, narrow_AVX2, 16, 1};
    return (level_fns){passes_sse2, widen_SSE2, narrow_SSE2, 8, 0};
}

/* A pass over n samples whose taps hold samples plus `bias` (FAST_BIASED; the vector code needs not know it). */
static void run_pass(const level_fns *lv, const uint16_t *const *tap, uint16_t *d, size_t n, const box16 *b,
                     uint16_t bias) {
    if (n < lv->lanes) pass_scalar(tap, d, n, b, bias);
    else lv->passes[b->p.ir <= 3 ? b->p.ir : 4][b->kind](tap, d, n, b);
}

static void widen_row(const level_fns *lv, const uint8_t *s, uint16_t *d, size_t n) {
    if (n < lv->lanes) for (size_t j = 0; j < n; j++) d[j] = s[j];
    else lv->widen(s, d, n);
}

/* The strip of pixels [x0, x1) of every row, all passes. seg[0], seg[1]: horizontal-pass buffers of the
   strip with its margins and pads; rings: passes rings of span rows of the strip; fin: the last pass's row. */
typedef struct strip_job {
    const if_image *in;
    if_image *out;
    level_fns lv;
    box16 bx, by;
    int passes;
    const if_sharpen *sharpen;
    int stream;    /* non-temporal stores for the output */
    uint16_t bias; /* what the last pass's words hold above the samples (FAST_BIASED passes) */
    uint16_t *seg[2], *rings, *fin;
} strip_job;

/* Bytes [0, n) of a finished row from the last pass's words (sharpened when asked; in: the input there). */
static void finish_part(const strip_job *job, const uint8_t *in, const uint16_t *fin, uint8_t *row, size_t n,
                        int stream) {
    if (job->sharpen) {
        if_sharpen_words(job->sharpen, in, fin, row, n, stream, job->bias);
        return;
    }
    size_t j = n >= job->lv.lanes ? job->lv.narrow(fin, row, n, stream, job->bias) : 0;
    for (; j < n; j++) row[j] = (uint8_t)(fin[j] - job->bias);
}

/* The last pass's words of a row's strip (job->fin) to bytes at row (in_row: the input's samples there). When
   the job streams, the whole 64-byte lines in between take non-temporal stores (a partial line would cost a
   read of the line in memory); the bytes before and after them are the first and last 64 made in a buffer. */
static void finish_row(const strip_job *job, const uint8_t *in_row, uint8_t *row, size_t n) {
    if (!job->stream || n < 128) {
        finish_part(job, in_row, job->fin, row, n, 0);
        return;
    }
    const size_t head = (size_t)(-(uintptr_t)row) & 63, lines = (n - head) & ~(size_t)63, tail = n - head - lines;
    _Alignas(64) uint8_t ends[64];
    if (head) {
        finish_part(job, in_row, job->fin, ends, 64, 0);
        memcpy(row, ends, head);
    }
    finish_part(job, in_row + head, job->fin + head, row + head, lines, 1);
    if (tail) {
        finish_part(job, in_row + n - 64, job->fin + n - 64, ends, 64, 0);
        memcpy(row + n - tail, ends + 64 - tail, tail);
    }
}

/* Fills the pads of a horizontal buffer (buf: pixel a) whose pixels [ai, bi) are computed: the edge pixel
   replicated into pad pixels where the range meets the image's edge. */
static void fill_pads(uint16_t *buf, int64_t a, int64_t ai, int64_t bi, int64_t W, int64_t B, int64_t pad) {
    const size_t bytes = (size_t)B * sizeof *buf;
    if (ai == 0)
        for (int64_t i = 1; i <= pad; i++) memcpy(buf - i * B, buf, bytes);
    if (bi == W)
        for (int64_t i = 0; i < pad; i++) memcpy(buf + (W - a + i) * B, buf + (W - 1 - a) * B, bytes);
}

static void run_strip(const strip_job *job, int64_t x0, int64_t x1) {
    const int64_t W = job->in->width, B = job->in->bands, last = (int64_t)job->in->height - 1;
    const size_t n = (size_t)W * (size_t)B, sw = (size_t)((x1 - x0) * B);
    const int passes = job->passes;
    const int64_t hpad = job->bx.p.ir + 1, lag = job->by.p.ir + 1, span = 2 * lag + 1;
    const int64_t a = x0 - passes * hpad < 0 ? 0 : x0 - passes * hpad;
    const int64_t b = x1 + passes * hpad > W ? W : x1 + passes * hpad;
    uint16_t *seg[2] = {job->seg[0] + hpad * B, job->seg[1] + hpad * B}; /* pixel a of each */
    /* row y of a ring lies in its slot y mod span: tslot is t's; back[s] = s lag mod span, how far back row
       t - s lag lies (no division in the loop) */
    size_t back[5], tslot = 0;
    for (int s = 0; s <= passes + 1; s++) back[s] = (size_t)(s * lag % span);
#define BACK(slot, d) ((slot) >= (d) ? (slot) - (d) : (slot) + (size_t)span - (d))
#define RING(s, slot) (job->rings + sw * ((size_t)(s) * (size_t)span + (slot)))
    for (int64_t t = 0; t <= last + passes * lag; t++) {
        if (t + PREFETCH_ROWS <= last) { /* the strip's input and output a few rows ahead: rows a page apart */
            const uint8_t *ahead = job->in->pixels + (size_t)(t + PREFETCH_ROWS) * n + (size_t)(a * B);
            for (size_t o = 0; o < (size_t)((b - a) * B); o += 64) __builtin_prefetch(ahead + o);
        }
        if (!job->stream && t - passes * lag + PREFETCH_ROWS >= 0 && t - passes * lag + PREFETCH_ROWS <= last) {
            uint8_t *ahead = job->out->pixels + (size_t)(t - passes * lag + PREFETCH_ROWS) * n + (size_t)(x0 * B);
            for (size_t o = 0; o < sw; o += 64) __builtin_prefetch(ahead + o, 1);
        }
        if (t <= last) { /* ring 0 gets input row t after every horizontal pass */
            widen_row(&job->lv, job->in->pixels + (size_t)t * n + (size_t)(a * B), seg[0], (size_t)((b - a) * B));
            fill_pads(seg[0], a, a, b, W, B, hpad);
            for (int i = 1; i <= passes; i++) {
                const int64_t m = (passes - i) * hpad; /* the margin later passes still need */
                const int64_t ai = x0 - m < 0 ? 0 : x0 - m, bi = x1 + m > W ? W : x1 + m;
                const uint16_t *src = seg[(i - 1) & 1] + (ai - a) * B;
                const uint16_t *tap[2 * FUSED_MAX_IR + 3];
                for (int64_t k = 0; k <= 2 * hpad; k++) tap[k] = src + (k - hpad) * B;
                uint16_t *dst = i == passes ? RING(0, tslot) : seg[i & 1] + (ai - a) * B;
                run_pass(&job->lv, tap, dst, (size_t)((bi - ai) * B), &job->bx, (uint16_t)((i - 1) * job->bx.step));
                if (i < passes) fill_pads(seg[i & 1], a, ai, bi, W, B, hpad);
            }
        }
        for (int s = 1; s <= passes; s++) { /* vertical pass s: row t - s * lag from ring s - 1 */
            const int64_t y = t - s * lag;
            if (y < 0 || y > last) continue;
            const uint16_t *rows[2 * FUSED_MAX_IR + 3];
            const size_t first = BACK(tslot, back[s + 1]); /* the slot of row y - lag; clamped rows further on */
            for (int64_t k = 0; k < span; k++) {
                size_t slot = first + (size_t)(clampi(y - lag + k, last) - (y - lag));
                if (slot >= (size_t)span) slot -= (size_t)span;
                rows[k] = RING(s - 1, slot);
            }
            uint16_t *dst = s == passes ? job->fin : RING(s, BACK(tslot, back[s]));
            run_pass(&job->lv, rows, dst, sw, &job->by, (uint16_t)(passes * job->bx.step + (s - 1) * job->by.step));
            if (s == passes) {
                const size_t at = (size_t)y * n + (size_t)(x0 * B);
                finish_row(job, job->in->pixels + at, job->out->pixels + at, sw);
            }
        }
        tslot = tslot + 1 == (size_t)span ? 0 : tslot + 1;
    }
#undef RING
#undef BACK
}

int if_boxblur_fused(const if_image *in, if_image *out, box_params px, box_params py, int passes,
                     const if_sharpen *sharpen) {
    if (px.ir > FUSED_MAX_IR || py.ir > FUSED_MAX_IR || passes < 1 || passes > 3 || in->sample_size != 1) return 0;
    const int64_t W = in->width, B = in->bands;
    const int64_t hpad = px.ir + 1, span = 2 * py.ir + 3;
    /* words: rings passes * span * sw, fin sw, two segments (sw + 2 (passes + 1) hpad B) each */
    const int64_t per_px = B * (passes * span + 3), fixed = 4 * (passes + 1) * hpad * B;
    const int64_t most = (SCRATCH_WORDS - fixed) / per_px; /* pixels a strip can hold */
    if (most < 1) return 0;
    const int64_t strips = (W + most - 1) / most, width = (W + strips - 1) / strips;
    _Alignas(64) uint16_t scratch[SCRATCH_WORDS];
    const size_t sw = (size_t)(width * B), segw = (size_t)((width + 2 * (passes + 1) * hpad) * B);
    strip_job job = {.in = in, .out = out, .lv = pick_level(), .bx = box16_setup(px), .by = box16_setup(py),
                     .passes = passes, .sharpen = sharpen};
    bias_passes(&job.bx, &job.by, passes);
    job.bias = (uint16_t)(passes * (job.bx.step + job.by.step));
    job.rings = scratch;
    job.fin = job.rings + (size_t)(passes * span) * sw;
    job.seg[0] = job.fin + sw;
    job.seg[1] = job.seg[0] + segw;
    job.stream = job.lv.streams && (size_t)W * (size_t)B * in->height >= STREAM_MIN_BYTES;
    for (int64_t x0 = 0; x0 < W; x0 += width) run_strip(&job, x0, x0 + width < W ? x0 + width : W);
    if (job.stream) _mm_sfence(); /* the non-temporal stores ordered before whatever reads the image next */
    return 1;
}

#else
int if_boxblur_fused(const if_image *in, if_image *out, box_params px, box_params py, int passes,
                     const if_sharpen *sharpen) {
    (void)in, (void)out, (void)px, (void)py, (void)passes, (void)sharpen;
    return 0;
}
#endif
