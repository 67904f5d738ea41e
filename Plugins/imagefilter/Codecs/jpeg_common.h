/*
 * What the JPEG decoder, encoder and strip pipeline share (private to Codecs/).
 *
 * Decoding is Pillow's: its own marker walk first (if_jpeg_read_header), then
 * libjpeg over the whole file through a suspending source, as Pillow's
 * decoder reads it. Running out of data before the last row is "image file is
 * truncated"; after it (no EOI) the image is whole, as in Pillow; a libjpeg
 * error is "broken data stream". libjpeg's errors longjmp back to the caller
 * instead of calling exit().
 */
#ifndef IF_JPEG_COMMON_H
#define IF_JPEG_COMMON_H

#include "if_codec_internal.h"

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

typedef struct jpeg_failure {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
    int code; /* libjpeg's msg_code of the error */
} jpeg_failure;

/** Installs error handling that longjmps to failure->escape; warnings are ignored, as Pillow does. */
void if_jpeg_failure_install(jpeg_failure *failure);

/** A source that suspends at the end of the data (fill_input_buffer returns FALSE), like Pillow's. */
typedef struct suspending_source {
    struct jpeg_source_mgr base;
    size_t skip; /* bytes still to skip past the end */
} suspending_source;

/** Everything decoder_open learnt: Pillow's header and the mode it opens the image in. */
typedef struct jpeg_opened {
    if_jpeg_header header;
    if_mode mode;
} jpeg_opened;

/**
 * Pillow's open() + the start of load(): the marker walk, the decompression-bomb
 * check, then libjpeg's header and start. 0, or -1 with a message naming the file.
 * libjpeg's own errors longjmp to failure->escape (then call if_jpeg_failed).
 * `opened->header` must be freed with if_jpeg_header_free either way.
 */
int if_jpeg_open(struct jpeg_decompress_struct *info, jpeg_failure *failure, suspending_source *source,
                 const char *name, const uint8_t *data, size_t size, int64_t max_pixels, jpeg_opened *opened,
                 char *err, size_t err_size);

/** The message after libjpeg's longjmp to failure->escape while decoding. */
void if_jpeg_failed(const jpeg_failure *failure, const char *name, char *err, size_t err_size);

/** The message when the data runs out before the last row (Pillow's, with its count of bytes left). */
void if_jpeg_truncated(const suspending_source *source, const char *name, char *err, size_t err_size);

/** Pillow's "CMYK;I": Adobe's inverted samples, inverted (the same both ways). */
void if_jpeg_invert(uint8_t *samples, size_t count);

/** The encoder writes straight into the caller's if_bytes, growing it by doubling. */
typedef struct bytes_destination {
    struct jpeg_destination_mgr base;
    if_bytes *out;
    size_t start; /* out->length before encoding: restored on failure */
    size_t guess; /* first capacity asked for */
    int out_of_memory;
} bytes_destination;

void if_jpeg_destination_install(j_compress_ptr info, bytes_destination *dest, if_bytes *out, size_t guess);

/** Room for a typical encoding of width x height x bands samples. */
size_t if_jpeg_encoded_guess(uint32_t width, uint32_t height, uint32_t bands);

/** The libjpeg colour space Pillow's save() writes a mode as; -1 if it cannot (message set). */
int if_jpeg_space(if_mode mode, J_COLOR_SPACE *space, char *err, size_t err_size);

/** Pillow's default save settings for the image, then jpeg_start_compress and the COM segment if any. */
void if_jpeg_encoder_start(j_compress_ptr info, uint32_t width, uint32_t height, uint32_t bands, J_COLOR_SPACE space,
                           int quality, const uint8_t *comment, size_t comment_size);

#pragma GCC visibility pop

#endif
