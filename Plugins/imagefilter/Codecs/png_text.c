/*
 * PNG text and ICC chunks as Pillow 13 reads them: tEXt, zTXt, iTXt and iCCP inflated up to
 * MAX_TEXT_CHUNK (1 MiB; more is refused), text counted against MAX_TEXT_MEMORY (64 MiB in all, in
 * characters as Python counts them), unreadable compressed data ignored, and the text keyed "comment" kept
 * for a JPEG save. Private to Codecs/.
 */
#include "png_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_TEXT_CHUNK (1u << 20)
#define MAX_TEXT_MEMORY (64u * MAX_TEXT_CHUNK)

/* _safe_zlib_decompress: 1 inflated (into *out, malloc'd), 0 zlib.error, -1 refused. */
static int text_inflate(png_walk *w, const uint8_t *in, size_t n, uint8_t **out, size_t *out_size) {
    z_stream z;
    memset(&z, 0, sizeof z);
    *out = malloc(MAX_TEXT_CHUNK);
    if (!*out || inflateInit(&z) != Z_OK) {
        free(*out);
        return png_fail(w, PNG_REFUSED, "out of memory");
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = *out;
    z.avail_out = MAX_TEXT_CHUNK;
    int rc = n ? inflate(&z, Z_SYNC_FLUSH) : Z_BUF_ERROR;
    *out_size = MAX_TEXT_CHUNK - z.avail_out;
    inflateEnd(&z);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) {
        free(*out);
        *out = NULL;
        return 0;
    }
    if (rc != Z_STREAM_END && z.avail_out == 0 && z.avail_in > 0) {
        free(*out);
        *out = NULL;
        return png_fail(w, PNG_REFUSED, "Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK");
    }
    return 1;
}

static int count_text(png_walk *w, size_t characters) {
    w->text_memory += characters;
    if (w->text_memory > MAX_TEXT_MEMORY)
        return png_fail(w, PNG_REFUSED, "Too much memory used in text chunks: %zu>MAX_TEXT_MEMORY", w->text_memory);
    return 0;
}

/* Code points of strict UTF-8 (as Python decodes it), or -1 when it is not. */
static long utf8_length(const uint8_t *p, size_t n) {
    long count = 0;
    for (size_t i = 0; i < n; count++) {
        uint8_t c = p[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { extra = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { extra = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { extra = 3; cp = c & 0x07; }
        else return -1;
        if (n - i <= extra) return -1;
        for (size_t k = 1; k <= extra; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return -1;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return -1;
        i += extra + 1;
    }
    return count;
}

/* info["comment"] as UTF-8 (what Pillow's JPEG save writes), from latin-1 or UTF-8 text. */
static void set_comment(png_walk *w, const uint8_t *v, size_t n, int latin1) {
    free(w->info->comment);
    w->info->comment = NULL;
    w->info->comment_size = 0;
    if (n == 0) return;
    uint8_t *text = malloc(2 * n);
    if (!text) return;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (latin1 && v[i] >= 0x80) {
            text[at++] = (uint8_t)(0xC0 | v[i] >> 6);
            text[at++] = (uint8_t)(0x80 | (v[i] & 0x3F));
        } else {
            text[at++] = v[i];
        }
    }
    w->info->comment = text;
    w->info->comment_size = at;
}

static int keyed_comment(const uint8_t *k, size_t n) { return n == 7 && memcmp(k, "comment", 7) == 0; }

int png_on_text(png_walk *w, const uint8_t *s, uint32_t n) {
    const uint8_t *nul = memchr(s, 0, n);
    size_t klen = nul ? (size_t)(nul - s) : n;
    const uint8_t *v = nul ? nul + 1 : s + n;
    size_t vlen = nul ? n - klen - 1 : 0;
    if (klen == 0) return 0;
    if (keyed_comment(s, klen)) set_comment(w, v, vlen, 1);
    return count_text(w, vlen);
}

int png_on_ztext(png_walk *w, const uint8_t *s, uint32_t n) {
    const uint8_t *nul = memchr(s, 0, n);
    size_t klen = nul ? (size_t)(nul - s) : n;
    const uint8_t *v = nul ? nul + 1 : s + n;
    size_t vlen = nul ? n - klen - 1 : 0;
    if (vlen && v[0] != 0) return png_fail(w, PNG_UNIDENTIFIED, "Unknown compression method %d in zTXt chunk", v[0]);
    uint8_t *text = NULL;
    size_t size = 0;
    int rc = text_inflate(w, vlen ? v + 1 : v, vlen ? vlen - 1 : 0, &text, &size);
    if (rc < 0) return -1;
    if (rc == 0) size = 0;
    if (klen && keyed_comment(s, klen)) set_comment(w, text, size, 1);
    free(text);
    return klen ? count_text(w, size) : 0;
}

int png_on_itext(png_walk *w, const uint8_t *s, uint32_t n) {
    const uint8_t *nul = memchr(s, 0, n);
    if (!nul) return 0;
    size_t klen = (size_t)(nul - s);
    const uint8_t *r = nul + 1;
    size_t rlen = n - klen - 1;
    if (rlen < 2) return 0;
    int cf = r[0], cm = r[1];
    r += 2;
    rlen -= 2;
    const uint8_t *lang = r, *nul1 = memchr(r, 0, rlen);
    if (!nul1) return 0;
    const uint8_t *tk = nul1 + 1, *nul2 = memchr(tk, 0, rlen - (size_t)(tk - r));
    if (!nul2) return 0;
    const uint8_t *v = nul2 + 1;
    size_t vlen = rlen - (size_t)(v - r);
    uint8_t *text = NULL;
    if (cf != 0) {
        if (cm != 0) return 0;
        size_t size;
        int rc = text_inflate(w, v, vlen, &text, &size);
        if (rc <= 0) return rc;
        v = text;
        vlen = size;
    }
    long characters = utf8_length(v, vlen);
    int rc = 0;
    if (characters >= 0 && utf8_length(lang, (size_t)(nul1 - lang)) >= 0 && utf8_length(tk, (size_t)(nul2 - tk)) >= 0) {
        if (keyed_comment(s, klen)) set_comment(w, v, vlen, 0);
        rc = count_text(w, (size_t)characters);
    }
    free(text);
    return rc;
}

int png_on_iccp(png_walk *w, const uint8_t *s, uint32_t n) {
    const uint8_t *nul = memchr(s, 0, n);
    size_t i = nul ? (size_t)(nul - s) : (size_t)-1; /* Python's find: -1, then s[0] */
    size_t method_at = i + 1;
    if (method_at >= n) return png_fail(w, PNG_UNIDENTIFIED, "index out of range"); /* s[i + 1] */
    if (s[method_at] != 0) return png_fail(w, PNG_UNIDENTIFIED, "Unknown compression method %d in iCCP chunk", s[method_at]);
    uint8_t *profile = NULL;
    size_t size = 0;
    size_t from = i + 2 < n ? i + 2 : n;
    int rc = text_inflate(w, s + from, n - from, &profile, &size);
    if (rc < 0) return -1;
    free(w->info->icc);
    w->info->icc = rc ? profile : NULL;
    w->info->icc_size = rc ? size : 0;
    return 0;
}
