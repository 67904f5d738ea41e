/*
 * PNG decoding as Pillow 13 does it (private to Codecs/): png_chunks.c walks
 * the chunks with PngImagePlugin's rules (png_text.c: its text and ICC
 * chunks), png_decode.c inflates and unfilters the image data as Pillow's
 * ZipDecode.c and unpacks it to Pillow's modes.
 */
#ifndef IF_PNG_INTERNAL_H
#define IF_PNG_INTERNAL_H

#include <stdarg.h>

#include "if_codec_internal.h"

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

typedef enum png_verdict {
    PNG_UNIDENTIFIED = 1, /* "cannot identify image file" */
    PNG_REFUSED = 2       /* another of Pillow's messages */
} png_verdict;

enum { PNG_IMAGE_DATA = 1, PNG_END = 2, PNG_UNKNOWN = 3 };

/* Pillow's raw modes of PNG data, by bit depth and colour type. */
typedef enum png_raw {
    RAW_1, RAW_L2, RAW_L4, RAW_L, RAW_I16B, RAW_RGB, RAW_RGB16B, RAW_P1, RAW_P2, RAW_P4, RAW_P, RAW_LA, RAW_LA16B,
    RAW_RGBA, RAW_RGBA16B
} png_raw;

/* What Pillow's PngStream learns: the image's header, where its data starts,
 * and what its info carries into a saved file. */
typedef struct png_info {
    uint32_t width, height; /* the last IHDR's */
    int has_mode;
    if_mode mode;
    png_raw raw;
    int bits;       /* bits per pixel of the raw mode */
    int interlaced; /* set by any IHDR with a non-zero interlace byte, never cleared (as Pillow) */
    const uint8_t *palette; /* the last PLTE after an IHDR of a palette mode (inside the file) */
    size_t palette_size;
    int has_transparency;
    uint8_t *transparency; /* what Pillow's save writes as tRNS (before cutting to the palette) */
    size_t transparency_size;
    uint8_t *icc; /* info["icc_profile"], NULL when None */
    size_t icc_size;
    uint8_t *comment; /* info["comment"] as UTF-8 */
    size_t comment_size;
    int has_bbox, default_image;
    uint32_t bbox[4]; /* an fcTL's frame: x0, y0, x1, y1 */
    int has_tile;
    size_t image_data, image_data_length; /* the first IDAT's (or fdAT's) data */
} png_info;

typedef struct png_walk {
    const uint8_t *data;
    size_t size, at;
    png_info *info;
    int has_seq;
    uint32_t seq;
    int has_frames, animated;
    uint32_t frames;
    size_t text_memory;
    png_verdict verdict;
    char message[256];
} png_walk;

/** Sets w->verdict and w->message; returns -1. */
int png_fail(png_walk *w, png_verdict verdict, const char *format, ...) __attribute__((format(printf, 3, 4)));

/** PngImageFile._open: the chunks up to the first image data. 0 or -1. */
int png_open(png_walk *w);

/** PngImageFile.load_end: the chunks after the image data, from w->at. 0 or -1. */
int png_load_end(png_walk *w);

/** Pillow's chunk_tEXt, chunk_zTXt, chunk_iTXt and chunk_iCCP over a chunk's data (png_text.c): 0 or -1. */
int png_on_text(png_walk *w, const uint8_t *s, uint32_t n);
int png_on_ztext(png_walk *w, const uint8_t *s, uint32_t n);
int png_on_itext(png_walk *w, const uint8_t *s, uint32_t n);
int png_on_iccp(png_walk *w, const uint8_t *s, uint32_t n);

/** ChunkStream.read: 0 with the next chunk's header, 1 at a short header (struct.error),
 *  or -1 on a name that is not four word characters (SyntaxError, message set). */
int png_next_header(png_walk *w, uint8_t kind[4], uint32_t *length);

/** chunk_fdAT up to its data: the sequence number read and checked. 0 or -1. */
int png_fdat(png_walk *w, uint32_t length);

/** Pillow's _MODES: sets has_mode, mode, raw and bits, or clears has_mode. */
void png_raw_mode(int depth, int colour, png_info *info);

#pragma GCC visibility pop

#endif
