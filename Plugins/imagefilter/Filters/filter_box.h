/*
 * Pillow's box blur constants and the fused row pipeline (filter_blur_fused.c), shared by filter_blur.c and
 * filter_unsharp.c. Private to Filters/.
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

/* Called on each finished output row: `row` holds the blurred samples of input row `in_row` (n bytes). */
typedef void (*if_blur_row_hook)(const uint8_t *in_row, uint8_t *row, size_t n, void *ctx);

/** Pillow's box blur (`passes` horizontal passes of px, then `passes` vertical ones of py) a row at a time,
 *  every pass of a row done while it is in cache; out gets the result, then hook (when set) each row of it.
 *  Returns 1 when done, 0 when this image or radius is not for it (then nothing is written: use the
 *  whole-image passes), -1 when out of memory. */
int if_boxblur_fused(const if_image *in, if_image *out, box_params px, box_params py, int passes,
                     if_blur_row_hook hook, void *ctx);

#pragma GCC visibility pop

#endif
