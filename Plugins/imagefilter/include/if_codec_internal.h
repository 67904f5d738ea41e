/* What the codec files share among themselves (not part of the plugin's API). */
#ifndef IF_CODEC_INTERNAL_H
#define IF_CODEC_INTERNAL_H

#include "if_codec.h"

int if_bytes_append(if_bytes *bytes, const void *data, size_t length);

int if_jpeg_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                   char *err, size_t err_size);
int if_png_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                  char *err, size_t err_size);

/** Pillow's decompression-bomb check; 0 when within the limit. */
int if_check_pixels(const char *name, uint64_t width, uint64_t height, int64_t max_pixels, char *err,
                    size_t err_size);

#endif
