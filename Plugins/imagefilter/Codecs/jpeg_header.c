/*
 * The walk over a JPEG's markers that Pillow 13's JpegImageFile._open makes
 * before libjpeg sees the file, with its rules: which files it identifies
 * (8-bit samples, 1, 3 or 4 components, well-formed SOF, DQT, JFIF and Adobe
 * segments, no stray 0xFFxx marker codes), which segments cut short it calls
 * "Truncated File Read", and what it keeps for saving: the last COM segment
 * and the ICC profile joined from its APP2 pieces when the first SOF is read.
 */
#include "if_codec_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const uint8_t *data;
    size_t size;
    size_t at;
} reader;

/* Python's fp.read(n): what is left, at most n bytes. */
static size_t take(reader *r, size_t n, const uint8_t **out) {
    size_t left = r->size - r->at;
    if (n > left) n = left;
    *out = r->data + r->at;
    r->at += n;
    return n;
}

typedef struct segment {
    const uint8_t *data;
    size_t length;
} segment;

enum { WALK_OK = 0, WALK_UNIDENTIFIED = 1, WALK_TRUNCATED = 2, WALK_NO_MEMORY = 3 };

/* A segment's length field and payload: i16(fp.read(2)) - 2, then _safe_read. */
static int read_segment(reader *r, segment *s) {
    const uint8_t *p;
    if (take(r, 2, &p) < 2) return WALK_UNIDENTIFIED; /* struct.error */
    long n = (long)((p[0] << 8) | p[1]) - 2;
    s->data = r->data + r->at;
    s->length = 0;
    if (n <= 0) return WALK_OK;
    if (take(r, (size_t)n, &p) < (size_t)n) return WALK_TRUNCATED;
    s->length = (size_t)n;
    return WALK_OK;
}

static int starts_with(const segment *s, const char *prefix, size_t n) {
    return s->length >= n && memcmp(s->data, prefix, n) == 0;
}

static int compare_pieces(const void *a, const void *b) {
    const segment *x = a, *y = b;
    size_t n = x->length < y->length ? x->length : y->length;
    int c = memcmp(x->data, y->data, n);
    if (c) return c;
    return x->length < y->length ? -1 : x->length > y->length;
}

typedef struct walk {
    if_jpeg_header *header;
    segment *pieces; /* ICC_PROFILE APP2 segments not yet joined */
    size_t piece_count, piece_capacity;
} walk;

static int on_app(walk *w, int marker, const segment *s) {
    if (marker == 0xE0 && starts_with(s, "JFIF", 4)) {
        if (s->length < 7) return WALK_UNIDENTIFIED; /* i16(s, 5) */
    } else if (marker == 0xEE && starts_with(s, "Adobe", 5)) {
        if (s->length < 7) return WALK_UNIDENTIFIED;
    } else if (marker == 0xE2 && starts_with(s, "ICC_PROFILE\0", 12)) {
        if (w->piece_count == w->piece_capacity) {
            size_t capacity = w->piece_capacity ? w->piece_capacity * 2 : 8;
            segment *grown = realloc(w->pieces, capacity * sizeof *grown);
            if (!grown) return WALK_NO_MEMORY;
            w->pieces = grown;
            w->piece_capacity = capacity;
        }
        w->pieces[w->piece_count++] = *s;
    }
    return WALK_OK;
}

/* Pillow joins the pieces gathered so far at each SOF: sorted, and only when
 * the first says how many there are; otherwise the profile is None. */
static int join_icc(walk *w) {
    if_jpeg_header *h = w->header;
    if (w->piece_count == 0) return WALK_OK;
    qsort(w->pieces, w->piece_count, sizeof *w->pieces, compare_pieces);
    if (w->pieces[0].length < 14) return WALK_UNIDENTIFIED; /* icclist[0][13]: IndexError */
    free(h->icc);
    h->icc = NULL;
    h->icc_size = 0;
    if (w->pieces[0].data[13] == w->piece_count) {
        size_t total = 0;
        for (size_t i = 0; i < w->piece_count; i++) total += w->pieces[i].length - (w->pieces[i].length >= 14 ? 14 : w->pieces[i].length);
        h->icc = malloc(total ? total : 1);
        if (!h->icc) return WALK_NO_MEMORY;
        for (size_t i = 0; i < w->piece_count; i++)
            if (w->pieces[i].length > 14) {
                memcpy(h->icc + h->icc_size, w->pieces[i].data + 14, w->pieces[i].length - 14);
                h->icc_size += w->pieces[i].length - 14;
            }
    }
    w->piece_count = 0;
    return WALK_OK;
}

static int on_sof(walk *w, int marker, const segment *s) {
    if_jpeg_header *h = w->header;
    if (s->length < 5) return WALK_UNIDENTIFIED; /* i16(s, 3): struct.error */
    h->width = (uint32_t)((s->data[3] << 8) | s->data[4]);
    h->height = (uint32_t)((s->data[1] << 8) | s->data[2]);
    h->sof_marker = marker;
    if (s->data[0] != 8) return WALK_UNIDENTIFIED; /* cannot handle N-bit layers */
    if (s->length < 6) return WALK_UNIDENTIFIED;
    switch (s->data[5]) {
    case 1: h->mode = IF_MODE_L; break;
    case 3: h->mode = IF_MODE_RGB; break;
    case 4: h->mode = IF_MODE_CMYK; break;
    default: return WALK_UNIDENTIFIED; /* cannot handle N-layer images */
    }
    h->has_mode = 1;
    int rc = join_icc(w);
    if (rc != WALK_OK) return rc;
    if (s->length > 6 && (s->length - 6) % 3 != 0) return WALK_UNIDENTIFIED; /* a component cut short */
    return WALK_OK;
}

static int on_dqt(const segment *s) {
    size_t at = 0;
    while (at < s->length) {
        size_t table = 1 + (s->data[at] / 16 == 0 ? 1 : 2) * 64;
        if (s->length - at < table) return WALK_UNIDENTIFIED; /* bad quantization table marker */
        at += table;
    }
    return WALK_OK;
}

static int walk_markers(reader *r, walk *w) {
    const uint8_t *p;
    uint8_t s[2] = {0xFF, 0};
    size_t have = 1;
    while (have) {
        if (s[0] != 0xFF) { /* junk between markers */
            have = take(r, 1, &p);
            if (have) s[0] = p[0];
            continue;
        }
        if (take(r, 1, &p) < 1) break;
        s[1] = p[0];
        int code = (s[0] << 8) | s[1];
        if (code >= 0xFFC0 && code <= 0xFFFE) {
            int marker = code & 0xFF;
            int has_length = !(marker == 0xC8 || (marker >= 0xD0 && marker <= 0xD9) || (marker >= 0xF0 && marker <= 0xFD));
            if (has_length) {
                segment seg;
                int rc = read_segment(r, &seg);
                if (rc != WALK_OK) return rc;
                int is_sof = (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) ||
                             marker == 0xDE;
                if (is_sof) rc = on_sof(w, marker, &seg);
                else if (marker == 0xDB) rc = on_dqt(&seg);
                else if (marker >= 0xE0 && marker <= 0xEF) rc = on_app(w, marker, &seg);
                else if (marker == 0xFE) {
                    w->header->comment = seg.data;
                    w->header->comment_size = seg.length;
                }
                if (rc != WALK_OK) return rc;
                if (marker == 0xDA) {
                    w->header->has_scan = 1;
                    return WALK_OK;
                }
            }
            have = take(r, 1, &p);
            if (have) s[0] = p[0];
        } else if (code == 0xFFFF) {
            s[0] = 0xFF;
            have = 1;
        } else if (code == 0xFF00) {
            have = take(r, 1, &p);
            if (have) s[0] = p[0];
        } else {
            return WALK_UNIDENTIFIED; /* no marker found */
        }
    }
    return WALK_OK;
}

int if_jpeg_read_header(const char *name, const uint8_t *data, size_t size, if_jpeg_header *header, char *err,
                        size_t err_size) {
    memset(header, 0, sizeof *header);
    reader r = {data, size, 3};
    walk w = {header, NULL, 0, 0};
    int rc = size >= 3 ? walk_markers(&r, &w) : WALK_UNIDENTIFIED;
    free(w.pieces);
    if (rc == WALK_OK && (!header->has_mode || header->width == 0 || header->height == 0))
        rc = WALK_UNIDENTIFIED; /* not identified by this driver */
    if (rc == WALK_OK) return 0;
    if (rc == WALK_UNIDENTIFIED) snprintf(err, err_size, "cannot identify image file '%s'", name);
    else if (rc == WALK_TRUNCATED) snprintf(err, err_size, "%s: Truncated File Read", name);
    else snprintf(err, err_size, "%s: out of memory", name);
    if_jpeg_header_free(header);
    return -1;
}

void if_jpeg_header_free(if_jpeg_header *header) {
    free(header->icc);
    header->icc = NULL;
    header->icc_size = 0;
}
