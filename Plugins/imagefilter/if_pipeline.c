/* if_jpeg_stream with a row filter as its stage. */
#include "if_pipeline.h"

#include <stddef.h>

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
