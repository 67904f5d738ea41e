/* if_jpeg_stream: JPEG in, a row stage, JPEG out, a strip of rows at a time (see if_codec.h). */
#include "jpeg_common.h"

#include <stdlib.h>
#include <string.h>

/* Rows per strip: one 4:2:0 iMCU row, what both libjpeg directions work in anyway. */
#define STRIP_ROWS 16
/* The widest stage it takes: a 5x5 kernel needs 2 rows either side. */
#define MAX_MARGIN 2

int if_jpeg_stream(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, int quality,
                   if_row_stage_open open, void *arg, if_bytes *out, char *err, size_t err_size) {
    struct jpeg_decompress_struct decoder;
    struct jpeg_compress_struct encoder;
    jpeg_failure decoding, encoding;
    suspending_source source;
    bytes_destination dest;
    jpeg_opened opened;
    uint8_t *volatile buffer = NULL;
    memset(&decoder, 0, sizeof decoder);
    memset(&encoder, 0, sizeof encoder);
    memset(&opened, 0, sizeof opened);
    if_jpeg_failure_install(&decoding);
    if_jpeg_failure_install(&encoding);
    decoder.err = &decoding.base;
    encoder.err = &encoding.base;
    if_jpeg_destination_install(&encoder, &dest, out, 0);
    if (setjmp(decoding.escape)) {
        if_jpeg_failed(&decoding, name, err, err_size);
        goto failed;
    }
    if (setjmp(encoding.escape)) {
        if (dest.out_of_memory) snprintf(err, err_size, "%s: out of memory writing JPEG", name);
        else snprintf(err, err_size, "%s: JPEG encoding failed: %s", name, encoding.message);
        goto failed;
    }
    jpeg_create_decompress(&decoder);
    jpeg_create_compress(&encoder);
    if (if_jpeg_open(&decoder, &decoding, &source, name, data, size, max_pixels, &opened, err, err_size) != 0)
        goto failed;
    const if_mode mode = opened.mode;
    const uint32_t width = decoder.output_width, height = decoder.output_height;
    const uint32_t bands = (uint32_t)decoder.output_components;
    const int invert = mode == IF_MODE_CMYK; /* Pillow's "CMYK;I" both ways */
    if_row_stage stage;
    if (open(arg, width, height, mode, &stage) != 0 || stage.margin > MAX_MARGIN) {
        jpeg_destroy_decompress(&decoder);
        jpeg_destroy_compress(&encoder);
        if_jpeg_header_free(&opened.header);
        return 1;
    }
    const uint32_t margin = stage.margin;
    const size_t stride = (size_t)width * bands;
    /* The input window holds image rows [base, have): a strip's rows and
     * `margin` rows either side; the output strip follows it. */
    const uint32_t window = STRIP_ROWS + 2 * margin;
    buffer = malloc(stride * (window + STRIP_ROWS));
    if (!buffer) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, width, height);
        goto failed;
    }
    uint8_t *const input = buffer, *const strip = buffer + stride * window;
    J_COLOR_SPACE space;
    if (if_jpeg_space(mode, &space, err, err_size) != 0) goto failed;
    if_jpeg_destination_install(&encoder, &dest, out, if_jpeg_encoded_guess(width, height, bands));
    if_jpeg_encoder_start(&encoder, width, height, bands, space, quality, opened.header.comment,
                          opened.header.comment_size);
    JSAMPROW targets[STRIP_ROWS + 2 * MAX_MARGIN];
    const uint8_t *rows[2 * MAX_MARGIN + 1];
    uint32_t base = 0, have = 0;
    for (uint32_t y0 = 0; y0 < height; y0 += STRIP_ROWS) {
        const uint32_t y1 = y0 + STRIP_ROWS < height ? y0 + STRIP_ROWS : height;
        const uint32_t need = y1 + margin < height ? y1 + margin : height;
        const uint32_t keep = y0 > margin ? y0 - margin : 0;
        if (keep > base) {
            memmove(input, input + (size_t)(keep - base) * stride, (size_t)(have - keep) * stride);
            base = keep;
        }
        while (have < need) {
            JDIMENSION count = 0;
            for (uint32_t y = have; y < need; y++) targets[count++] = input + (size_t)(y - base) * stride;
            JDIMENSION got = jpeg_read_scanlines(&decoder, targets, count);
            if (got == 0) { /* the data ran out before the last row */
                if_jpeg_truncated(&source, name, err, err_size);
                goto failed;
            }
            if (invert) if_jpeg_invert(input + (size_t)(have - base) * stride, (size_t)got * stride);
            have += got;
        }
        for (uint32_t y = y0; y < y1; y++) {
            for (uint32_t i = 0; i <= 2 * margin; i++) {
                /* Rows beyond the image are never read: clamp to keep the pointers inside it. */
                int64_t row = (int64_t)y - margin + i;
                if (row < 0) row = 0;
                if (row >= height) row = height - 1;
                rows[i] = input + (size_t)((uint32_t)row - base) * stride;
            }
            stage.row(stage.state, y, rows, strip + (size_t)(y - y0) * stride);
        }
        if (invert) if_jpeg_invert(strip, (size_t)(y1 - y0) * stride);
        JDIMENSION count = 0;
        for (uint32_t y = y0; y < y1; y++) targets[count++] = strip + (size_t)(y - y0) * stride;
        JDIMENSION written = 0;
        while (written < count) written += jpeg_write_scanlines(&encoder, targets + written, count - written);
    }
    jpeg_finish_decompress(&decoder); /* suspending here (no EOI) is fine, as in Pillow */
    jpeg_finish_compress(&encoder);
    jpeg_destroy_decompress(&decoder);
    jpeg_destroy_compress(&encoder);
    if_jpeg_header_free(&opened.header);
    free(buffer);
    return 0;
failed:
    jpeg_destroy_decompress(&decoder);
    jpeg_destroy_compress(&encoder);
    if_jpeg_header_free(&opened.header);
    free(buffer);
    out->length = dest.start;
    return -1;
}
