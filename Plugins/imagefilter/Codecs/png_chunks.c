/*
 * The walk over a PNG's chunks that Pillow 13's PngImagePlugin makes, with its
 * rules: before the image data (open) every chunk's CRC is checked, critical
 * or not; a chunk name that is not four word characters, a bad or missing CRC,
 * an IHDR filter method other than 0, an unknown iCCP or zTXt compression
 * method, APNG sequence errors are "cannot identify image file"; short IHDR,
 * gAMA, cHRM, sRGB, pHYs, tRNS, acTL, fcTL, fdAT chunks, text or ICC data that
 * inflates past MAX_TEXT_CHUNK (1 MiB) or text past MAX_TEXT_MEMORY (64 MiB)
 * are refused with Pillow's messages; a chunk cut short is "Truncated File
 * Read". After the image data (load_end) no CRC is checked and a damaged
 * chunk header ends the walk, but the handlers' own refusals still apply.
 * The IHDR compression method and the IDAT CRCs are never looked at.
 */
#include "png_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int is_word(uint8_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Python's repr() of a bytes object, as Pillow's messages show chunk names. */
static void bytes_repr(const uint8_t *p, size_t n, char *out, size_t size) {
    int quote = memchr(p, '\'', n) && !memchr(p, '"', n) ? '"' : '\'';
    size_t at = (size_t)snprintf(out, size, "b%c", quote);
    for (size_t i = 0; i < n && at + 8 < size; i++) {
        uint8_t c = p[i];
        if (c == '\\' || c == quote) at += (size_t)snprintf(out + at, size - at, "\\%c", c);
        else if (c == '\t') at += (size_t)snprintf(out + at, size - at, "\\t");
        else if (c == '\n') at += (size_t)snprintf(out + at, size - at, "\\n");
        else if (c == '\r') at += (size_t)snprintf(out + at, size - at, "\\r");
        else if (c < 32 || c >= 127) at += (size_t)snprintf(out + at, size - at, "\\x%02x", c);
        else out[at++] = (char)c;
    }
    snprintf(out + at, size - at, "%c", quote);
}

int png_fail(png_walk *w, png_verdict verdict, const char *format, ...) {
    w->verdict = verdict;
    va_list args;
    va_start(args, format);
    vsnprintf(w->message, sizeof w->message, format, args);
    va_end(args);
    return -1;
}

/* Python's fp.read(n). */
static size_t take(png_walk *w, size_t n, const uint8_t **out) {
    size_t left = w->size - w->at;
    if (n > left) n = left;
    *out = w->data + w->at;
    w->at += n;
    return n;
}

/* ImageFile._safe_read: the whole chunk or "Truncated File Read". */
static int safe_read(png_walk *w, uint32_t length, const uint8_t **out) {
    if (take(w, length, out) < length) return png_fail(w, PNG_REFUSED, "Truncated File Read");
    return 0;
}

static int on_ihdr(png_walk *w, const uint8_t *s, uint32_t n) {
    png_info *info = w->info;
    if (n < 13) return png_fail(w, PNG_REFUSED, "Truncated IHDR chunk");
    info->width = be32(s);
    info->height = be32(s + 4);
    png_raw_mode(s[8], s[9], info);
    if (s[12]) info->interlaced = 1;
    if (s[11]) return png_fail(w, PNG_UNIDENTIFIED, "unknown filter category");
    return 0;
}

static int on_trns(png_walk *w, const uint8_t *s, uint32_t n) {
    png_info *info = w->info;
    if (info->mode == IF_MODE_P) {
        size_t zeros = 0, zero_at = 0, other = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == 0) {
                if (!zeros) zero_at = i;
                zeros++;
            } else if (s[i] != 0xFF) {
                other++;
            }
        }
        free(info->transparency);
        info->transparency = NULL;
        info->has_transparency = 1;
        if (zeros == 1 && !other) { /* one fully transparent entry: Pillow keeps its index */
            info->transparency = malloc(zero_at + 1);
            if (!info->transparency) return png_fail(w, PNG_REFUSED, "out of memory");
            memset(info->transparency, 0xFF, zero_at);
            info->transparency[zero_at] = 0;
            info->transparency_size = zero_at + 1;
        } else {
            info->transparency = malloc(n ? n : 1);
            if (!info->transparency) return png_fail(w, PNG_REFUSED, "out of memory");
            memcpy(info->transparency, s, n);
            info->transparency_size = n;
        }
    } else if (info->has_mode && (info->mode == IF_MODE_1 || info->mode == IF_MODE_L || info->mode == IF_MODE_I16 ||
                                  info->mode == IF_MODE_RGB)) {
        if (n < (info->mode == IF_MODE_RGB ? 6u : 2u)) return png_fail(w, PNG_REFUSED, "Truncated tRNS chunk");
        free(info->transparency);
        info->transparency = malloc(6);
        if (!info->transparency) return png_fail(w, PNG_REFUSED, "out of memory");
        info->has_transparency = 1;
        memcpy(info->transparency, s, info->mode == IF_MODE_RGB ? 6 : 2);
        info->transparency_size = info->mode == IF_MODE_RGB ? 6 : 2;
        if (info->mode == IF_MODE_1) {
            int on = s[0] || s[1];
            info->transparency[0] = 0;
            info->transparency[1] = on ? 255 : 0;
        }
    }
    return 0;
}

static int on_fctl(png_walk *w, const uint8_t *s, uint32_t n) {
    png_info *info = w->info;
    if (n < 26) return png_fail(w, PNG_REFUSED, "APNG contains truncated fcTL chunk");
    uint32_t seq = be32(s);
    if ((!w->has_seq && seq != 0) || (w->has_seq && w->seq != seq - 1))
        return png_fail(w, PNG_UNIDENTIFIED, "APNG contains frame sequence errors");
    w->seq = seq;
    w->has_seq = 1;
    uint64_t width = be32(s + 4), height = be32(s + 8), px = be32(s + 12), py = be32(s + 16);
    if (px + width > info->width || py + height > info->height)
        return png_fail(w, PNG_UNIDENTIFIED, "APNG contains invalid frames");
    info->has_bbox = 1;
    info->bbox[0] = (uint32_t)px;
    info->bbox[1] = (uint32_t)py;
    info->bbox[2] = (uint32_t)(px + width);
    info->bbox[3] = (uint32_t)(py + height);
    return 0;
}

static int on_actl(png_walk *w, const uint8_t *s, uint32_t n) {
    if (n < 8) return png_fail(w, PNG_REFUSED, "APNG contains truncated acTL chunk");
    if (w->has_frames) {
        w->has_frames = 0; /* Invalid APNG: the default image */
        return 0;
    }
    uint32_t frames = be32(s);
    if (frames == 0 || frames > 0x80000000u) return 0;
    w->has_frames = 1;
    w->frames = frames;
    return 0;
}

static int minimum(png_walk *w, uint32_t n, uint32_t need, const char *message) {
    return n < need ? png_fail(w, PNG_REFUSED, "%s", message) : 0;
}

int png_fdat(png_walk *w, uint32_t length) {
    if (length < 4) return png_fail(w, PNG_REFUSED, "APNG contains truncated fDAT chunk");
    const uint8_t *s;
    if (safe_read(w, 4, &s) != 0) return -1;
    uint32_t seq = be32(s);
    if (!w->has_seq || w->seq != seq - 1) return png_fail(w, PNG_UNIDENTIFIED, "APNG contains frame sequence errors");
    w->seq = seq;
    return 0;
}

/* One chunk's handler, Pillow's chunk_<name>: 0, PNG_IMAGE_DATA (IDAT, fdAT), PNG_END (IEND),
 * PNG_UNKNOWN (no handler: the caller reads the data), or -1. *payload is the data read, for the CRC. */
static int handle(png_walk *w, const uint8_t kind[4], uint32_t length, const uint8_t **payload, uint32_t *read) {
    *read = length;
    if (memcmp(kind, "IDAT", 4) == 0) return PNG_IMAGE_DATA;
    if (memcmp(kind, "IEND", 4) == 0) return PNG_END;
    if (memcmp(kind, "fdAT", 4) == 0) {
        *read = 4;
        return png_fdat(w, length) == 0 ? PNG_IMAGE_DATA : -1;
    }
    static const char *known[] = {"IHDR", "PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "pHYs", "tEXt",
                                  "zTXt", "iTXt", "eXIf", "acTL", "fcTL", "iCCP"};
    size_t which = 0;
    while (which < sizeof known / sizeof *known && memcmp(kind, known[which], 4) != 0) which++;
    if (which == sizeof known / sizeof *known) return PNG_UNKNOWN;
    const uint8_t *s;
    if (safe_read(w, length, &s) != 0) return -1;
    *payload = s;
    png_info *info = w->info;
    switch (which) {
    case 0: return on_ihdr(w, s, length);
    case 1:
        if (info->has_mode && info->mode == IF_MODE_P) {
            info->palette = s;
            info->palette_size = length;
        }
        return 0;
    case 2: return on_trns(w, s, length);
    case 3: return minimum(w, length, 4, "Truncated gAMA chunk");
    case 4: return minimum(w, length, 32, "Truncated cHRM chunk");
    case 5: return minimum(w, length, 1, "Truncated sRGB chunk");
    case 6: return minimum(w, length, 9, "Truncated pHYs chunk");
    case 7: return png_on_text(w, s, length);
    case 8: return png_on_ztext(w, s, length);
    case 9: return png_on_itext(w, s, length);
    case 10: return 0;
    case 11: return on_actl(w, s, length);
    case 12: return on_fctl(w, s, length);
    default: return png_on_iccp(w, s, length);
    }
}

int png_next_header(png_walk *w, uint8_t kind[4], uint32_t *length) {
    const uint8_t *s;
    size_t got = take(w, 8, &s);
    if (got < 4) return 1;
    *length = be32(s);
    memset(kind, 0, 4);
    memcpy(kind, s + 4, got - 4);
    if (got < 8 || !is_word(kind[0]) || !is_word(kind[1]) || !is_word(kind[2]) || !is_word(kind[3])) {
        char name[64];
        bytes_repr(s + 4, got - 4, name, sizeof name);
        return png_fail(w, PNG_UNIDENTIFIED, "broken PNG file (chunk %s)", name);
    }
    return 0;
}

int png_open(png_walk *w) {
    png_info *info = w->info;
    w->at = 8;
    for (;;) {
        uint8_t kind[4];
        uint32_t length;
        int rc = png_next_header(w, kind, &length);
        if (rc != 0) return rc > 0 ? png_fail(w, PNG_UNIDENTIFIED, "struct.error") : -1;
        const uint8_t *payload = w->data + w->at;
        uint32_t read;
        rc = handle(w, kind, length, &payload, &read);
        if (rc < 0) return -1;
        if (rc == PNG_IMAGE_DATA) {
            info->default_image = w->has_frames && !info->has_bbox;
            info->image_data = w->at;
            info->image_data_length = memcmp(kind, "fdAT", 4) == 0 ? length - 4 : length;
            info->has_tile = 1;
            break;
        }
        if (rc == PNG_END) break;
        if (rc == PNG_UNKNOWN && safe_read(w, length, &payload) != 0) return -1;
        /* crc(): every chunk before the image data, critical or ancillary */
        const uint8_t *crc;
        if (take(w, 4, &crc) < 4) return png_fail(w, PNG_UNIDENTIFIED, "broken PNG file (incomplete checksum)");
        uint32_t expected = (uint32_t)crc32(crc32(0, kind, 4), payload, length);
        if (be32(crc) != expected) return png_fail(w, PNG_UNIDENTIFIED, "broken PNG file (bad header checksum)");
    }
    w->animated = w->has_frames && (w->frames + (info->default_image ? 1 : 0)) > 1;
    if (!info->has_mode || info->width == 0 || info->height == 0 || info->width > 0x7FFFFFFF ||
        info->height > 0x7FFFFFFF)
        return png_fail(w, PNG_UNIDENTIFIED, "not identified by this driver");
    return 0;
}

int png_load_end(png_walk *w) {
    for (;;) {
        const uint8_t *skip;
        take(w, 4, &skip); /* CRC, unchecked */
        uint8_t kind[4];
        uint32_t length;
        int rc = png_next_header(w, kind, &length);
        if (rc != 0) return 0; /* struct.error or SyntaxError: the walk ends */
        if (memcmp(kind, "IEND", 4) == 0) return 0;
        if (memcmp(kind, "fcTL", 4) == 0 && w->animated) return 0;
        const uint8_t *payload;
        uint32_t read;
        rc = handle(w, kind, length, &payload, &read);
        if (rc < 0) return -1;
        if (rc == PNG_IMAGE_DATA || rc == PNG_UNKNOWN) {
            uint32_t rest = rc == PNG_IMAGE_DATA && memcmp(kind, "fdAT", 4) == 0 ? length - 4 : length;
            if (safe_read(w, rest, &payload) != 0) return -1;
        }
    }
}
