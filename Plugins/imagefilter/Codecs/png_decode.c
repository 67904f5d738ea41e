/*
 * PNG decoding through libpng, to the modes Pillow opens: L, LA, RGB, RGBA,
 * P (with its palette and tRNS), 1 (1-bit grey), I;16 (16-bit grey). 16-bit
 * colour keeps the high byte, as Pillow's unpackers do; 2- and 4-bit grey
 * scale to 8 bits. libpng reports errors by longjmp: that stays in this file.
 */
#include "if_codec_internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct png_source {
    const uint8_t *data;
    size_t size;
    size_t position;
    int truncated;
    char message[256];
    png_bytep *rows;
} png_source;

static void read_bytes(png_structp png, png_bytep into, size_t length) {
    png_source *source = png_get_io_ptr(png);
    if (source->size - source->position < length) {
        source->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(into, source->data + source->position, length);
    source->position += length;
}

static void on_error(png_structp png, png_const_charp message) {
    png_source *source = png_get_error_ptr(png);
    snprintf(source->message, sizeof source->message, "%s", message);
    png_longjmp(png, 1);
}

/* Pillow keeps any profile that inflates; libpng's own iCCP handling drops
 * profiles it judges wrong (an RGB profile in a grey file, the widespread
 * "known incorrect" sRGB profile), so the chunk is read raw and inflated here. */
#define ICC_MAX (64u << 20)
static void keep_icc(if_image *image, const uint8_t *chunk, size_t length) {
    const uint8_t *nul = memchr(chunk, 0, length);
    if (!nul || (size_t)(nul - chunk) + 2 > length || nul[1] != 0) return; /* no name, or not deflate */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return;
    size_t capacity = 4096, used = 0;
    uint8_t *profile = malloc(capacity);
    z.next_in = (Bytef *)(nul + 2);
    z.avail_in = (uInt)(length - (size_t)(nul - chunk) - 2);
    int rc = Z_OK;
    while (profile && rc == Z_OK) {
        if (used == capacity) {
            uint8_t *grown = capacity < ICC_MAX ? realloc(profile, capacity * 2) : NULL;
            if (!grown) break;
            profile = grown;
            capacity *= 2;
        }
        z.next_out = profile + used;
        z.avail_out = (uInt)(capacity - used);
        rc = inflate(&z, Z_NO_FLUSH);
        used = capacity - z.avail_out;
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || used == 0) {
        free(profile);
        return;
    }
    free(image->icc_profile);
    image->icc_profile = profile;
    image->icc_profile_size = used;
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int if_png_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                  char *err, size_t err_size) {
    png_source source = {data, size, 0, 0, "", NULL};
    memset(image, 0, sizeof *image);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        snprintf(err, err_size, "%s: out of memory", name);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        if (source.truncated) snprintf(err, err_size, "%s: image file is truncated", name);
        else snprintf(err, err_size, "%s: broken PNG file: %s", name, source.message);
        free(source.rows);
        png_destroy_read_struct(&png, &info, NULL);
        if_image_free(image);
        return -1;
    }
    png_set_read_fn(png, &source, read_bytes);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_ALWAYS, (png_const_bytep) "iCCP", 1);
    png_read_info(png, info);
    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if (if_check_pixels(name, width, height, max_pixels, err, err_size) != 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }

    if_mode mode;
    switch (color) {
    case PNG_COLOR_TYPE_GRAY:
        if (depth == 1) {
            mode = IF_MODE_1;
            png_set_packing(png);
        } else if (depth == 16) {
            mode = IF_MODE_I16;
            png_set_swap(png); /* to native (little-endian) order */
        } else {
            mode = IF_MODE_L;
            if (depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        }
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        /* Pillow 13 opens 16-bit grey+alpha as RGBA (grey copied to R, G, B). */
        if (depth == 16) {
            mode = IF_MODE_RGBA;
            png_set_gray_to_rgb(png);
        } else {
            mode = IF_MODE_LA;
        }
        break;
    case PNG_COLOR_TYPE_RGB: mode = IF_MODE_RGB; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: mode = IF_MODE_RGBA; break;
    case PNG_COLOR_TYPE_PALETTE:
        mode = IF_MODE_P;
        png_set_packing(png);
        break;
    default:
        snprintf(err, err_size, "%s: unsupported PNG colour type %d", name, color);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (depth == 16 && mode != IF_MODE_I16) png_set_strip_16(png);
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);

    if (if_image_alloc(image, width, height, mode) != 0) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, width, height);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    if (mode == IF_MODE_P) {
        png_colorp palette;
        int count = 0;
        if (png_get_PLTE(png, info, &palette, &count) && count > 0) {
            for (int i = 0; i < count && i < 256; i++) {
                image->palette[4 * i] = palette[i].red;
                image->palette[4 * i + 1] = palette[i].green;
                image->palette[4 * i + 2] = palette[i].blue;
                image->palette[4 * i + 3] = 255;
            }
            image->palette_size = (uint32_t)(count > 256 ? 256 : count);
        }
    }
    png_bytep alpha;
    int alpha_count;
    png_color_16p key;
    if (png_get_tRNS(png, info, &alpha, &alpha_count, &key)) {
        /* Kept as the payload Pillow would write back: a palette's alphas as
         * read, except that "all opaque but one fully transparent entry"
         * becomes that entry's index (ff.. 00, the opaque tail dropped); a
         * 1-bit grey key becomes 255 or 0. */
        if (color == PNG_COLOR_TYPE_PALETTE && alpha_count > 0) {
            int zero = -1, simple = 1;
            for (int i = 0; i < alpha_count; i++) {
                if (alpha[i] == 0 && zero < 0) zero = i;
                else if (alpha[i] != 255) simple = 0;
            }
            size_t n = simple && zero >= 0 ? (size_t)zero + 1 : (size_t)alpha_count;
            image->transparency = malloc(n);
            if (image->transparency) {
                memcpy(image->transparency, alpha, n);
                image->transparency_size = n;
            }
        } else if (key && (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_RGB)) {
            uint16_t values[3] = {key->gray, 0, 0};
            size_t n = 2;
            if (mode == IF_MODE_1) values[0] = key->gray ? 255 : 0;
            if (color == PNG_COLOR_TYPE_RGB) {
                values[0] = key->red;
                values[1] = key->green;
                values[2] = key->blue;
                n = 6;
            }
            image->transparency = malloc(n);
            if (image->transparency) {
                for (size_t i = 0; i < n / 2; i++) {
                    image->transparency[2 * i] = (uint8_t)(values[i] >> 8);
                    image->transparency[2 * i + 1] = (uint8_t)values[i];
                }
                image->transparency_size = n;
            }
        }
    }
    png_unknown_chunkp chunks;
    int chunk_count = png_get_unknown_chunks(png, info, &chunks);
    for (int i = 0; i < chunk_count; i++) /* the last one wins, as in Pillow */
        if (memcmp(chunks[i].name, "iCCP", 4) == 0) keep_icc(image, chunks[i].data, chunks[i].size);

    size_t stride = (size_t)width * image->bands * image->sample_size;
    source.rows = malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!source.rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) source.rows[y] = image->pixels + y * stride;
    png_read_image(png, source.rows);
    /* No png_read_end: like Pillow, stop after the image data, so a file cut
     * in its trailing chunks (or lacking IEND) still opens. */
    if (mode == IF_MODE_1)
        for (size_t i = 0; i < (size_t)width * height; i++) image->pixels[i] = image->pixels[i] ? 255 : 0;
    free(source.rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
