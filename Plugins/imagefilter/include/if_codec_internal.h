/* What the codec files share among themselves (not part of the plugin's API). */
#ifndef IF_CODEC_INTERNAL_H
#define IF_CODEC_INTERNAL_H

#include "if_codec.h"

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

int if_bytes_append(if_bytes *bytes, const void *data, size_t length);

int if_jpeg_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                   char *err, size_t err_size);
int if_png_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                  char *err, size_t err_size);

/** Pillow's decompression-bomb check; 0 when within the limit. */
int if_check_pixels(const char *name, uint64_t width, uint64_t height, int64_t max_pixels, char *err,
                    size_t err_size);

/** What Pillow's JPEG open() finds before libjpeg runs (if_jpeg_read_header). */
typedef struct if_jpeg_header {
    uint32_t width, height; /**< from the last SOF */
    if_mode mode;           /**< L, RGB or CMYK, from the last SOF's component count */
    int has_mode;
    int sof_marker;         /**< 0xC0..0xCF or 0xDE */
    int has_scan;           /**< an SOS was reached (else Pillow cannot load the image) */
    const uint8_t *comment; /**< the last COM payload, inside the file's bytes; NULL if none */
    size_t comment_size;
    uint8_t *icc;           /**< malloc'd joined ICC profile, or NULL */
    size_t icc_size;
} if_jpeg_header;

/** Walks the markers up to the first SOS with Pillow's rules: 0, or -1 with
 *  Pillow's message ("cannot identify image file '<name>'", "<name>: Truncated File Read"). */
int if_jpeg_read_header(const char *name, const uint8_t *data, size_t size, if_jpeg_header *header, char *err,
                        size_t err_size);
void if_jpeg_header_free(if_jpeg_header *header);

#pragma GCC visibility pop

#endif
