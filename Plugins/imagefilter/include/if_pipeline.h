/*
 * if_pipeline.h — filtering a JPEG into a JPEG without holding the image.
 *
 * The filters that look at a few neighbouring rows only (3x3 and 5x5
 * kernels) run inside if_jpeg_stream: rows are decoded, filtered and encoded
 * a strip at a time, and neither the input nor the output image is ever whole
 * in memory (a 1920x1080 worker peaks ~6 MB lower, and the rows are still in
 * the cache when they are filtered and encoded). The bytes are exactly those
 * of if_decode_memory, if_filter_apply and if_encode_jpeg in turn.
 */
#ifndef IF_PIPELINE_H
#define IF_PIPELINE_H

#include "if_codec.h"
#include "if_filter.h"

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

/**
 * Filters the JPEG file held in `data` (`name` is used in messages) and
 * appends the result, as a JPEG of `quality` (0 = Pillow's 75), to `out`.
 * Returns 0; -1 with a message naming the file; or 1, having done nothing,
 * when the filter cannot run row by row on this image (any filter but a
 * kernel, or an image smaller than the kernel): then take the whole-image way.
 */
int if_filter_jpeg(const if_filter *filter, const char *name, const uint8_t *data, size_t size, int64_t max_pixels,
                   int quality, if_bytes *out, char *err, size_t err_size);

/**
 * What the seed's program does to one file, in bytes: Image.open, filter, save.
 * `data` holds the file (`name` is used in messages); `format` is "same" (the
 * input's format), "png" or "jpeg"; `quality` 0 is Pillow's 75; `max_pixels` 0
 * is Pillow's limit. Appends the encoded output to `out` and returns 0, or
 * returns -1 with Pillow's message for the failure, naming the file.
 */
int if_filter_bytes(const if_filter *filter, const char *name, const uint8_t *data, size_t size, const char *format,
                    int quality, int64_t max_pixels, if_bytes *out, char *err, size_t err_size);

#pragma GCC visibility pop

#endif /* IF_PIPELINE_H */
