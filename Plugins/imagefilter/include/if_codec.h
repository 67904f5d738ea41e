/*
 * if_codec.h — reading and writing JPEG and PNG files as Pillow does.
 *
 * Decoding follows Pillow 13's Image.open().load(), its rules for what it
 * accepts included: JPEG through Pillow's marker walk, then libjpeg's
 * defaults (ISLOW DCT, fancy upsampling) to L, RGB or CMYK; PNG through
 * Pillow's chunk walk and its own inflate and unfiltering (no libpng) to L,
 * LA, RGB, RGBA, P, 1 or I;16. Encoding follows Pillow's save() defaults: JPEG
 * at quality 75, 4:2:0, baseline, with the input's comment; PNG with Pillow's
 * own row-filter choice and zlib settings. Errors name the file and carry
 * Pillow's message.
 */
#ifndef IF_CODEC_H
#define IF_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "if_image.h"

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

/** Pillow's decompression-bomb limit: twice MAX_IMAGE_PIXELS. */
#define IF_DEFAULT_MAX_PIXELS 178956970LL

typedef enum if_format { IF_FORMAT_JPEG, IF_FORMAT_PNG } if_format;

/** Reads and decodes `path`. `max_pixels` 0 means the default limit.
 *  Returns 0, or -1 with a message naming the file. Records the format. */
int if_decode_file(const char *path, int64_t max_pixels, if_image *image, if_format *format, char *err,
                   size_t err_size);

/** Decodes bytes already in memory (`name` is used in messages). */
int if_decode_memory(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                     if_format *format, char *err, size_t err_size);

/** A growable byte buffer for encoded files. */
typedef struct if_bytes {
    uint8_t *data;
    size_t length;
    size_t capacity;
} if_bytes;

void if_bytes_free(if_bytes *bytes);

/** Encodes as JPEG; quality 1..95, or 0 for Pillow's default (75). */
int if_encode_jpeg(const if_image *image, int quality, if_bytes *out, char *err, size_t err_size);

/**
 * One step that turns each image row into an output row of the same size and
 * mode, looking at most `margin` rows above and below (a 3x3 filter: 1).
 * row() makes output row y from rows[i] = input row y - margin + i
 * (i = 0 .. 2 * margin); near the top and bottom edges the rows that would lie
 * outside the image repeat the nearest image row.
 */
typedef struct if_row_stage {
    uint32_t margin;
    void (*row)(void *state, uint32_t y, const uint8_t *const *rows, uint8_t *out);
    void *state;
} if_row_stage;

/** Sets up a stage for a width x height image of `mode`: 0, or non-zero to decline it. */
typedef int (*if_row_stage_open)(void *arg, uint32_t width, uint32_t height, if_mode mode, if_row_stage *stage);

/**
 * Decodes the JPEG in `data`, runs its rows through the stage `open` sets up,
 * and encodes the result as JPEG (quality as if_encode_jpeg) onto `out`, a
 * strip of rows at a time, never holding the whole image. The bytes are those
 * of if_decode_memory, the stage over the whole image, then if_encode_jpeg
 * (the ICC profile dropped and the comment kept, as Pillow's JPEG save does).
 * Returns 0; -1 with a message naming the file (decoding errors read as
 * if_decode_memory's); or 1, having done nothing, when `open` declines the
 * image (or the stage's margin is over 2).
 */
int if_jpeg_stream(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, int quality,
                   if_row_stage_open open, void *arg, if_bytes *out, char *err, size_t err_size);

/** Reads a whole regular file into a malloc'd buffer: 0, or -1 with a message naming it. */
int if_read_file(const char *path, uint8_t **data, size_t *size, char *err, size_t err_size);

/** 1 if `data` starts like a JPEG file (what if_decode_memory goes by). */
int if_is_jpeg(const uint8_t *data, size_t size);

/** Encodes as PNG the way Pillow's save() does. */
int if_encode_png(const if_image *image, if_bytes *out, char *err, size_t err_size);

/**
 * Writes `bytes` to `path` atomically: the file appears whole or not at all,
 * even if the process dies mid-write (an unnamed O_TMPFILE linked in at the
 * end, or a hidden temporary renamed into place). Creates missing folders.
 * Refuses to overwrite `input_path` (compared by real path) when given.
 */
int if_write_atomically(const char *path, const if_bytes *bytes, const char *input_path, char *err, size_t err_size);

/** Makes `folder` and its parents (mode 0777 & ~umask). 0 or -1 with errno. */
int if_make_folders(const char *folder);

/** Writes a deterministic photo-like sample image (format from the extension). */
int if_make_sample(const char *path, uint32_t width, uint32_t height, uint64_t seed, char *err, size_t err_size);

#pragma GCC visibility pop

#endif /* IF_CODEC_H */
