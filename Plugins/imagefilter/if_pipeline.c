/* The plugin's decode, filter, encode: if_jpeg_stream with a row filter as its stage where it can, whole images otherwise. */
#include "if_pipeline.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct stream_filter {
    const if_filter *filter;
    if_row_filter *rows;
} stream_filter;

static void stream_row(void *state, uint32_t y, const uint8_t *const *rows, uint8_t *out) {
    if_row_filter_row(state, y, rows, out);
}

static int stream_open(void *arg, uint32_t width, uint32_t height, if_mode mode, if_row_stage *stage) {
    stream_filter *stream = arg;
    stream->rows = if_row_filter_new(stream->filter, width, height, mode);
    if (!stream->rows) return 1;
    stage->margin = if_row_filter_margin(stream->rows);
    stage->row = stream_row;
    stage->state = stream->rows;
    return 0;
}

int if_filter_jpeg(const if_filter *filter, const char *name, const uint8_t *data, size_t size, int64_t max_pixels,
                   int quality, if_bytes *out, char *err, size_t err_size) {
    stream_filter stream = {filter, NULL};
    int rc = if_jpeg_stream(name, data, size, max_pixels, quality, stream_open, &stream, out, err, err_size);
    if_row_filter_free(stream.rows);
    return rc;
}

int if_filter_bytes(const if_filter *filter, const char *name, const uint8_t *data, size_t size, const char *format,
                    int quality, int64_t max_pixels, if_bytes *out, char *err, size_t err_size) {
    int to_jpeg = strcmp(format, "jpeg") == 0, to_png = strcmp(format, "png") == 0;
    if (if_is_jpeg(data, size) && !to_png) {
        int rc = if_filter_jpeg(filter, name, data, size, max_pixels, quality, out, err, err_size);
        if (rc <= 0) return rc;
        /* Declined (not a kernel filter, or an image smaller than the kernel): the whole-image way. */
    }
    if_image input, output;
    memset(&output, 0, sizeof output);
    if_format decoded;
    if (if_decode_memory(name, data, size, max_pixels, &input, &decoded, err, err_size) != 0) return -1;
    char why[1024];
    if (if_filter_apply(filter, &input, &output, why, sizeof why) != 0) {
        snprintf(err, err_size, "%s: %s", name, why);
        if_image_free(&input);
        return -1;
    }
    if_image_free(&input);
    int as_png = to_png || (!to_jpeg && decoded == IF_FORMAT_PNG);
    if (!as_png) {
        /* Pillow's JPEG save writes the comment it read, not the ICC profile. */
        free(output.icc_profile);
        output.icc_profile = NULL;
        output.icc_profile_size = 0;
    }
    int rc = as_png ? if_encode_png(&output, out, why, sizeof why) : if_encode_jpeg(&output, quality, out, why, sizeof why);
    if (rc != 0) snprintf(err, err_size, "%s: %s", name, why);
    if_image_free(&output);
    return rc;
}
