/*
 * if_image.h — the in-memory image every part of the imagefilter plugin shares.
 *
 * Samples are interleaved, rows top to bottom with no padding: sample
 * (x, y, band) lives at sample index (y * width + x) * bands + band. They are
 * 8-bit (uint8_t) except in the modes I;16 (uint16_t, native byte order) and
 * I (int32_t); `sample_size` says which.
 * The mode says what the bands mean, with Pillow's names.
 */
#ifndef IF_IMAGE_H
#define IF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

/** Pillow's image modes that this plugin can hold. */
typedef enum if_mode {
    IF_MODE_L,     /**< 8-bit grey, 1 band */
    IF_MODE_LA,    /**< grey + alpha, 2 bands */
    IF_MODE_RGB,   /**< 3 bands */
    IF_MODE_RGBA,  /**< 4 bands */
    IF_MODE_P,     /**< palette indices, 1 band; `palette` holds the colours */
    IF_MODE_1,     /**< bilevel, 1 band holding 0 or 255 */
    IF_MODE_I16,   /**< Pillow's "I;16": 16-bit grey, 1 band, uint16_t samples */
    IF_MODE_I,     /**< Pillow's "I": 32-bit signed grey, 1 band, int32_t samples */
    IF_MODE_CMYK   /**< 4 bands, as Pillow holds a CMYK JPEG: Adobe's inverted samples inverted back */
} if_mode;

typedef struct if_image {
    uint32_t width;
    uint32_t height;
    uint32_t bands;        /**< samples per pixel, follows from mode */
    uint32_t sample_size;  /**< bytes per sample: 1, 2 (I;16) or 4 (I) */
    if_mode mode;
    uint8_t *pixels;       /**< width * height * bands * sample_size bytes, malloc'd */
    /* Palette images only: RGBA entries. */
    uint8_t palette[256 * 4];
    uint32_t palette_size;
    /* What a PNG carries across a filter, as Pillow keeps it. NULL/0 when absent. */
    uint8_t *icc_profile;  /**< malloc'd */
    size_t icc_profile_size;
    uint8_t *transparency; /**< raw tRNS chunk payload, malloc'd */
    size_t transparency_size;
    /* What a JPEG written from this image carries as its COM segment, as Pillow's
     * info["comment"]: a JPEG's last COM before its first scan, or a PNG's text
     * chunk keyed "comment" (UTF-8). malloc'd; NULL/0 when absent or empty. */
    uint8_t *comment;
    size_t comment_size;
} if_image;

/** Bands for a mode. */
uint32_t if_mode_bands(if_mode mode);

/** Bytes per sample for a mode. */
uint32_t if_mode_sample_size(if_mode mode);

/** Pillow's name of a mode ("L", "RGBA", ...). */
const char *if_mode_name(if_mode mode);

/** Allocates pixels for width x height in mode; returns 0, or -1 if out of memory. */
int if_image_alloc(if_image *image, uint32_t width, uint32_t height, if_mode mode);

/** Frees everything the image owns and zeroes it. Safe on a zeroed image. */
void if_image_free(if_image *image);

#pragma GCC visibility pop

#endif /* IF_IMAGE_H */
