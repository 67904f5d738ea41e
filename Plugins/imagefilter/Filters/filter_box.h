/*
 * Pillow's box blur constants, the strip pipeline (filter_blur_fused.c), the one-pass rows of bytes
 * (filter_blur_rows8.c) and UnsharpMask's step (filter_unsharp.c), shared by those files and filter_blur.c.
 * Private to Filters/.
 */
#ifndef IF_FILTER_BOX_H
#define IF_FILTER_BOX_H

#include <stddef.h>
#include <stdint.h>

#include "if_image.h"

#pragma GCC visibility push(hidden)

/* One box pass of radius r over a line, per sample, with Q(i) the line's sample i clamped to its ends:
       acc = sum Q(i-ir .. i+ir);  out = (acc * ww + (Q(i-ir-1) + Q(i+ir+1)) * fw + 2^23) >> 24
   in uint32 arithmetic (never above 255 * 2^24 + 2^23: (2 ir + 1) ww + 2 fw <= 2^24). */
typedef struct box_params {
    int64_t ir;
    uint32_t ww, fw;
} box_params;

static inline box_params box_setup(float r) {
    box_params p;
    p.ir = (int64_t)r;
    p.ww = (uint32_t)(int64_t)(16777216.0f / (r * 2.0f + 1.0f));
    p.fw = (uint32_t)(16777216u - (uint32_t)(2 * p.ir + 1) * p.ww) / 2u;
    return p;
}

/* UnsharpMask's step (filter_unsharp.c): out = in + (in - blurred) * percent / 100 where |in - blurred| > threshold,
   clamped; set up once per image. words / bytes: the vector step for blurred words / bytes (NULL: none), each
   returning how many samples it did; lut: a table over (in, blurred) for percents outside the vector's range. */
typedef struct if_sharpen if_sharpen;
typedef size_t (*if_sharpen_fn)(const if_sharpen *u, const uint8_t *in, const void *blurred, uint8_t *out, size_t n,
                                int stream, uint16_t bias);
struct if_sharpen {
    int32_t th, pc;
    uint8_t *lut;
    if_sharpen_fn words, bytes;
};
int if_sharpen_setup(if_sharpen *u, int32_t threshold, int32_t percent); /* -1: out of memory */
void if_sharpen_free(if_sharpen *u);
/* out[j] (j < n) sharpened from in[j] and its blurred value blurred[j] - bias; stream: non-temporal stores, out
   aligned to 64 bytes and n a multiple of 64. */
void if_sharpen_words(const if_sharpen *u, const uint8_t *in, const uint16_t *blurred, uint8_t *out, size_t n,
                      int stream, uint16_t bias);

/** Pillow's box blur (`passes` horizontal passes of px, then `passes` vertical ones of py, passes <= 3) in
 *  strips, every pass of a row done while it is in cache; out gets the result, sharpened by `sharpen` when set.
 *  Returns 1 when done, 0 when this image or radius is not for it (then nothing is written: use the
 *  whole-image passes), -1 when out of memory. */
int if_boxblur_fused(const if_image *in, if_image *out, box_params px, box_params py, int passes,
                     const if_sharpen *sharpen);

/** One box pass each way (BoxBlur) a row at a time on bytes (filter_blur_rows8.c); returns as if_boxblur_fused. */
int if_boxblur_rows8(const if_image *in, if_image *out, box_params px, box_params py);

#pragma GCC visibility pop

#endif
