/*
 * PNG encoding as Pillow's save() does it, so files match byte for byte
 * where the deflate implementation agrees: zlib level 6, memLevel 9,
 * Z_FILTERED; each row (8-bit palette images: always None, and the default
 * strategy) filtered with None, Up, Sub or Paeth, whichever has
 * the smallest sum of |signed byte| (tried in that order, replaced only when
 * strictly smaller, stopping at a cost of 0); IDAT chunks the size of
 * Pillow's encoder buffer, max(64 KiB, 4 x width); palettes of up to 16
 * colours packed to 1, 2 or 4 bits.
 */
#include "if_codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int chunk(if_bytes *out, const char *type, const uint8_t *data, size_t length) {
    uint8_t header[8];
    put32(header, (uint32_t)length);
    memcpy(header + 4, type, 4);
    uLong crc = crc32(0, (const Bytef *)type, 4);
    if (length) crc = crc32(crc, data, (uInt)length);
    uint8_t trailer[4];
    put32(trailer, (uint32_t)crc);
    return if_bytes_append(out, header, 8) || if_bytes_append(out, data, length) || if_bytes_append(out, trailer, 4);
}

static uint32_t cost(const uint8_t *row, size_t length) {
    uint32_t sum = 0;
    for (size_t i = 0; i < length; i++) sum += row[i] < 128 ? row[i] : 256u - row[i];
    return sum;
}

static uint8_t paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return (uint8_t)a;
    return (uint8_t)(pb <= pc ? b : c);
}

/* Filters one raw row into `best` (1 filter byte + length bytes). */
static void filter_row(const uint8_t *row, const uint8_t *above, size_t length, size_t bpp, int adaptive,
                       uint8_t *best, uint8_t *trial) {
    best[0] = 0;
    memcpy(best + 1, row, length);
    if (!adaptive) return;
    uint32_t best_cost = cost(best + 1, length);
    for (int type = 2; type >= 1 && best_cost > 0; type--) { /* Up, then Sub */
        trial[0] = (uint8_t)type;
        for (size_t i = 0; i < length; i++) {
            uint8_t left = i >= bpp ? row[i - bpp] : 0;
            trial[1 + i] = (uint8_t)(row[i] - (type == 2 ? above[i] : left));
        }
        uint32_t c = cost(trial + 1, length);
        if (c < best_cost) {
            best_cost = c;
            memcpy(best, trial, length + 1);
        }
    }
    if (best_cost > 0) {
        trial[0] = 4;
        for (size_t i = 0; i < length; i++) {
            int a = i >= bpp ? row[i - bpp] : 0, b = above[i], c = i >= bpp ? above[i - bpp] : 0;
            trial[1 + i] = (uint8_t)(row[i] - paeth(a, b, c));
        }
        if (cost(trial + 1, length) < best_cost) memcpy(best, trial, length + 1);
    }
}

/* The raw bytes of one row in the file's layout. */
static void pack_row(const if_image *image, uint32_t y, int bits, uint8_t *row, size_t row_bytes) {
    const uint8_t *src = image->pixels + (size_t)y * image->width * image->bands * image->sample_size;
    if (image->mode == IF_MODE_I16) {
        const uint16_t *s = (const uint16_t *)src;
        for (uint32_t x = 0; x < image->width; x++) {
            row[2 * x] = (uint8_t)(s[x] >> 8);
            row[2 * x + 1] = (uint8_t)s[x];
        }
    } else if (bits < 8) {
        memset(row, 0, row_bytes);
        int per_byte = 8 / bits;
        for (uint32_t x = 0; x < image->width; x++) {
            /* As Pillow packs: 1 bit is "non-zero", 2 and 4 bits keep the low bits. */
            uint8_t v = bits == 1 ? (src[x] ? 1 : 0) : (uint8_t)(src[x] & ((1u << bits) - 1));
            row[x / per_byte] |= (uint8_t)(v << (8 - bits * (int)(x % per_byte + 1)));
        }
    } else {
        memcpy(row, src, row_bytes);
    }
}

int if_encode_png(const if_image *image, if_bytes *out, char *err, size_t err_size) {
    int color, bits = 8;
    uint32_t palette_entries = 0;
    switch (image->mode) {
    case IF_MODE_L: color = 0; break;
    case IF_MODE_1: color = 0; bits = 1; break;
    case IF_MODE_I16: color = 0; bits = 16; break;
    case IF_MODE_LA: color = 4; break;
    case IF_MODE_RGB: color = 2; break;
    case IF_MODE_RGBA: color = 6; break;
    case IF_MODE_P:
        color = 3;
        /* Pillow writes only the entries the palette holds (at least one). */
        palette_entries = image->palette_size > 256 ? 256 : image->palette_size ? image->palette_size : 1;
        if (palette_entries <= 2) bits = 1;
        else if (palette_entries <= 4) bits = 2;
        else if (palette_entries <= 16) bits = 4;
        break;
    default:
        snprintf(err, err_size, "cannot write mode %s as PNG", if_mode_name(image->mode));
        return -1;
    }
    static const uint8_t signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    uint8_t ihdr[13];
    put32(ihdr, image->width);
    put32(ihdr + 4, image->height);
    ihdr[8] = (uint8_t)bits;
    ihdr[9] = (uint8_t)color;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    if (if_bytes_append(out, signature, 8) || chunk(out, "IHDR", ihdr, 13)) goto oom;

    if (image->icc_profile_size) {
        /* "ICC Profile", a NUL, compression method 0, the deflated profile. */
        uLong bound = compressBound((uLong)image->icc_profile_size);
        uint8_t *payload = malloc(13 + bound);
        if (!payload) goto oom;
        memcpy(payload, "ICC Profile\0\0", 13);
        uLongf packed = bound;
        if (compress2(payload + 13, &packed, image->icc_profile, (uLong)image->icc_profile_size, 6) != Z_OK ||
            chunk(out, "iCCP", payload, 13 + packed)) {
            free(payload);
            goto oom;
        }
        free(payload);
    }
    if (color == 3) {
        uint8_t plte[768];
        for (uint32_t i = 0; i < palette_entries; i++) memcpy(plte + 3 * i, image->palette + 4 * i, 3);
        if (chunk(out, "PLTE", plte, 3 * palette_entries)) goto oom;
    }
    /* tRNS as Pillow writes info["transparency"]: a palette's alphas cut to
     * the palette's length, a 2-byte grey or 6-byte RGB key; alpha modes none. */
    size_t trns = 0;
    if (image->transparency) {
        if (color == 3) trns = image->transparency_size < palette_entries ? image->transparency_size : palette_entries;
        else if (color == 0 && image->transparency_size >= 2) trns = 2;
        else if (color == 2 && image->transparency_size >= 6) trns = 6;
    }
    if (trns && chunk(out, "tRNS", image->transparency, trns)) goto oom;

    size_t channels = color == 2 ? 3 : color == 4 ? 2 : color == 6 ? 4 : 1;
    size_t row_bytes = ((size_t)image->width * channels * (size_t)bits + 7) / 8;
    size_t bpp = (channels * (size_t)bits + 7) / 8;
    uint8_t *rows = calloc(2 * row_bytes + 2, 1);
    uint8_t *filtered = malloc(2 * (row_bytes + 1));
    /* Pillow's encoder buffer, hence its IDAT size: max(64 KiB, 4 bytes per column). */
    size_t idat_max = (size_t)image->width * 4 > 65536 ? (size_t)image->width * 4 : 65536;
    uint8_t *compressed = malloc(idat_max);
    if (!rows || !filtered || !compressed) {
        free(rows);
        free(filtered);
        free(compressed);
        goto oom;
    }
    uint8_t *current = rows, *above = rows + row_bytes + 1;
    /* Pillow filters 8-bit palette images with None only, and deflates them
     * with the default strategy; packed palettes (1, 2, 4 bits) get the adaptive filters. */
    int adaptive = !(color == 3 && bits == 8);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15, 9, adaptive ? Z_FILTERED : Z_DEFAULT_STRATEGY) != Z_OK) {
        free(rows);
        free(filtered);
        free(compressed);
        goto oom;
    }
    z.next_out = compressed;
    z.avail_out = (uInt)idat_max;
    int failed = 0;
    for (uint32_t y = 0; y <= image->height && !failed; y++) {
        int flush = y == image->height ? Z_FINISH : Z_NO_FLUSH;
        if (y < image->height) {
            pack_row(image, y, bits, current, row_bytes);
            filter_row(current, above, row_bytes, bpp, adaptive, filtered, filtered + row_bytes + 1);
            z.next_in = filtered;
            z.avail_in = (uInt)(row_bytes + 1);
        } else {
            z.next_in = NULL;
            z.avail_in = 0;
        }
        for (;;) {
            int rc = deflate(&z, flush);
            if (z.avail_out == 0) {
                failed |= chunk(out, "IDAT", compressed, idat_max);
                z.next_out = compressed;
                z.avail_out = (uInt)idat_max;
                continue;
            }
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z.avail_in == 0) break;
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                failed = 1;
                break;
            }
        }
        uint8_t *swap = current;
        current = above;
        above = swap;
    }
    if (!failed && z.avail_out < idat_max) failed |= chunk(out, "IDAT", compressed, idat_max - z.avail_out);
    deflateEnd(&z);
    free(rows);
    free(filtered);
    free(compressed);
    if (failed || chunk(out, "IEND", NULL, 0)) goto oom;
    return 0;
oom:
    snprintf(err, err_size, "out of memory writing PNG");
    return -1;
}
