/*
 * PNG image data as Pillow 13 decodes it: its load() reads the IDAT (and
 * fdAT) chunks in turn, 64 KiB at a time, without their CRCs, and its
 * ZipDecode inflates and unfilters row by row (Adam7 passes its own way);
 * the raw rows are unpacked to Pillow's modes (16-bit colour keeps the high
 * byte, 2- and 4-bit grey scale to 8 bits, 16-bit grey + alpha becomes RGBA).
 * Data that ends on a whole row with the zlib stream ends the image there (the
 * rest stays black), as in Pillow; data that runs out first is "image file is
 * truncated". The chunks after the image are walked as Pillow's load_end.
 */
#include "png_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define READ_BLOCK 65536 /* ImageFile.MAXBLOCK */

/* Pillow's codec errors, as its decoders report them. */
enum { ZIP_MORE = 0, ZIP_DONE = 1, CODEC_BROKEN = -2, CODEC_UNKNOWN = -3, CODEC_CONFIG = -8, CODEC_MEMORY = -9 };

void png_raw_mode(int depth, int colour, png_info *info) {
    static const struct { int depth, colour; png_raw raw; if_mode mode; int bits; } modes[] = {
        {1, 0, RAW_1, IF_MODE_1, 1},        {2, 0, RAW_L2, IF_MODE_L, 2},          {4, 0, RAW_L4, IF_MODE_L, 4},
        {8, 0, RAW_L, IF_MODE_L, 8},        {16, 0, RAW_I16B, IF_MODE_I16, 16},    {8, 2, RAW_RGB, IF_MODE_RGB, 24},
        {16, 2, RAW_RGB16B, IF_MODE_RGB, 48}, {1, 3, RAW_P1, IF_MODE_P, 1},        {2, 3, RAW_P2, IF_MODE_P, 2},
        {4, 3, RAW_P4, IF_MODE_P, 4},       {8, 3, RAW_P, IF_MODE_P, 8},           {8, 4, RAW_LA, IF_MODE_LA, 16},
        {16, 4, RAW_LA16B, IF_MODE_RGBA, 32}, {8, 6, RAW_RGBA, IF_MODE_RGBA, 32},  {16, 6, RAW_RGBA16B, IF_MODE_RGBA, 64},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (modes[i].depth == depth && modes[i].colour == colour) {
            info->has_mode = 1;
            info->mode = modes[i].mode;
            info->raw = modes[i].raw;
            info->bits = modes[i].bits;
            return; /* an unknown pair leaves the mode as it was, as Pillow's KeyError does */
        }
}

/* Unpacks `count` pixels of raw data (sub-byte pixels from the top bits) into if_image samples. */
static void unpack(png_raw raw, const uint8_t *in, uint32_t count, uint8_t *out) {
    for (uint32_t i = 0; i < count; i++) {
        switch (raw) {
        case RAW_1: out[i] = (in[i / 8] >> (7 - i % 8)) & 1 ? 255 : 0; break;
        case RAW_P1: out[i] = (in[i / 8] >> (7 - i % 8)) & 1; break;
        case RAW_L2: out[i] = (uint8_t)(((in[i / 4] >> (6 - 2 * (i % 4))) & 3) * 0x55); break;
        case RAW_P2: out[i] = (in[i / 4] >> (6 - 2 * (i % 4))) & 3; break;
        case RAW_L4: out[i] = (uint8_t)(((in[i / 2] >> (4 - 4 * (i % 2))) & 15) * 0x11); break;
        case RAW_P4: out[i] = (in[i / 2] >> (4 - 4 * (i % 2))) & 15; break;
        case RAW_L:
        case RAW_P: out[i] = in[i]; break;
        case RAW_I16B: {
            uint16_t v = (uint16_t)(in[2 * i] << 8 | in[2 * i + 1]);
            memcpy(out + 2 * i, &v, 2);
            break;
        }
        case RAW_RGB: memcpy(out + 3 * i, in + 3 * i, 3); break;
        case RAW_RGB16B:
            for (int b = 0; b < 3; b++) out[3 * i + b] = in[6 * i + 2 * b];
            break;
        case RAW_LA: memcpy(out + 2 * i, in + 2 * i, 2); break;
        case RAW_LA16B:
            out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = in[4 * i];
            out[4 * i + 3] = in[4 * i + 2];
            break;
        case RAW_RGBA: memcpy(out + 4 * i, in + 4 * i, 4); break;
        case RAW_RGBA16B:
            for (int b = 0; b < 4; b++) out[4 * i + b] = in[8 * i + 2 * b];
            break;
        }
    }
}

static const int OFFSET[] = {7, 3, 3, 1, 1, 0, 0};
static const int STARTING_COL[] = {0, 4, 0, 2, 0, 1, 0};
static const int STARTING_ROW[] = {0, 0, 4, 0, 2, 0, 1};
static const int COL_INCREMENT[] = {8, 8, 4, 4, 2, 2, 1};
static const int ROW_INCREMENT[] = {8, 8, 8, 4, 4, 2, 2};

/* Pillow's ZipDecode state for one tile. */
typedef struct zip_state {
    z_stream z;
    uint8_t *buffer, *previous;
    size_t bytes; /* bytes per row of the tile */
    int bits, interlaced, pass;
    int xsize, ysize, xoff, yoff, y;
    size_t last_output;
    if_image *image;
    png_raw raw;
} zip_state;

static int row_length(const zip_state *s) {
    if (!s->interlaced) return (int)s->bytes;
    int pixels = (s->xsize + OFFSET[s->pass]) / COL_INCREMENT[s->pass];
    return (pixels * s->bits + 7) / 8;
}

static uint8_t *pixel_at(const zip_state *s, int x, int y) {
    size_t pixel = (size_t)s->image->bands * s->image->sample_size;
    return s->image->pixels + ((size_t)y * s->image->width + (size_t)x) * pixel;
}

static void unfilter(zip_state *s, int row_len, int *error) {
    uint8_t *b = s->buffer, *p = s->previous;
    int bpp = (s->bits + 7) / 8, i;
    switch (b[0]) {
    case 0: break;
    case 1:
        for (i = bpp + 1; i <= row_len; i++) b[i] = (uint8_t)(b[i] + b[i - bpp]);
        break;
    case 2:
        for (i = 1; i <= row_len; i++) b[i] = (uint8_t)(b[i] + p[i]);
        break;
    case 3:
        for (i = 1; i <= bpp; i++) b[i] = (uint8_t)(b[i] + p[i] / 2);
        for (; i <= row_len; i++) b[i] = (uint8_t)(b[i] + (b[i - bpp] + p[i]) / 2);
        break;
    case 4:
        for (i = 1; i <= bpp; i++) b[i] = (uint8_t)(b[i] + p[i]);
        for (; i <= row_len; i++) {
            int a = b[i - bpp], up = p[i], c = p[i - bpp];
            int pa = abs(up - c), pb = abs(a - c), pc = abs(a + up - 2 * c);
            b[i] = (uint8_t)(b[i] + ((pa <= pb && pa <= pc) ? a : (pb <= pc) ? up : c));
        }
        break;
    default: *error = CODEC_UNKNOWN;
    }
}

/* ImagingZipDecode over one block: ZIP_MORE, ZIP_DONE, or a codec error. */
static int zip_feed(zip_state *s, const uint8_t *in, size_t n) {
    int row_len = row_length(s);
    s->z.next_in = (Bytef *)in;
    s->z.avail_in = (uInt)n;
    while (s->z.avail_in > 0) {
        s->z.next_out = s->buffer + s->last_output;
        s->z.avail_out = (uInt)((size_t)row_len + 1 - s->last_output);
        int err = inflate(&s->z, Z_NO_FLUSH);
        if (err < 0) return err == Z_DATA_ERROR ? CODEC_BROKEN : err == Z_MEM_ERROR ? CODEC_MEMORY : CODEC_CONFIG;
        size_t got = (size_t)row_len + 1 - s->z.avail_out;
        if (got < (size_t)row_len + 1) {
            s->last_output = got;
            break; /* more input needed */
        }
        int error = 0;
        unfilter(s, row_len, &error);
        if (error) return error;
        if (s->interlaced) {
            int col = STARTING_COL[s->pass];
            if (s->bits >= 8) {
                int step = (s->bits + 7) / 8;
                for (int i = 0; i < row_len; i += step) {
                    unpack(s->raw, s->buffer + 1 + i, 1, pixel_at(s, s->xoff + col, s->y + s->yoff));
                    col += COL_INCREMENT[s->pass];
                }
            } else {
                int row_bits = ((s->xsize + OFFSET[s->pass]) / COL_INCREMENT[s->pass]) * s->bits;
                for (int i = 0; i < row_bits; i += s->bits) {
                    uint8_t byte = (uint8_t)(s->buffer[1 + i / 8] << (i % 8));
                    unpack(s->raw, &byte, 1, pixel_at(s, s->xoff + col, s->y + s->yoff));
                    col += COL_INCREMENT[s->pass];
                }
            }
            s->y += ROW_INCREMENT[s->pass];
            while (s->y >= s->ysize || row_len <= 0) {
                s->pass++;
                if (s->pass == 7) {
                    s->y = s->ysize;
                    break;
                }
                s->y = STARTING_ROW[s->pass];
                row_len = row_length(s);
                memset(s->buffer, 0, s->bytes + 1); /* the next pass starts from a black row */
            }
        } else {
            unpack(s->raw, s->buffer + 1, (uint32_t)s->xsize, pixel_at(s, s->xoff, s->y + s->yoff));
            s->y++;
        }
        s->last_output = 0;
        if (s->y >= s->ysize || err == Z_STREAM_END) return ZIP_DONE;
        uint8_t *swap = s->buffer;
        s->buffer = s->previous;
        s->previous = swap;
    }
    return ZIP_MORE;
}

static const char *codec_message(int code) {
    switch (code) {
    case CODEC_BROKEN: return "broken data stream when reading image file";
    case CODEC_UNKNOWN: return "unrecognized data stream contents when reading image file";
    case CODEC_MEMORY: return "out of memory when reading image file";
    default: return "codec configuration error when reading image file";
    }
}

/* ImageFile.load over the tile: 0, or -1 with the walk's verdict and message set. */
static int load_tile(png_walk *w, zip_state *s) {
    png_info *info = w->info;
    w->at = info->image_data;
    size_t left = info->image_data_length;
    int status = ZIP_MORE;
    while (status == ZIP_MORE) {
        while (left == 0) { /* load_read: skip the CRC, then the next IDAT, DDAT or fdAT */
            w->at += w->size - w->at < 4 ? w->size - w->at : 4;
            uint8_t kind[4];
            uint32_t length;
            int rc = png_next_header(w, kind, &length);
            if (rc > 0) return png_fail(w, PNG_REFUSED, "image file is truncated");
            if (rc < 0) return -1;
            int fdat = memcmp(kind, "fdAT", 4) == 0;
            if (!fdat && memcmp(kind, "IDAT", 4) != 0 && memcmp(kind, "DDAT", 4) != 0)
                return png_fail(w, PNG_REFUSED, "image file is truncated (0 bytes not processed)");
            if (fdat && png_fdat(w, length) != 0) return -1;
            left = fdat ? length - 4 : length;
        }
        size_t want = left < READ_BLOCK ? left : READ_BLOCK;
        left -= want;
        size_t got = w->size - w->at < want ? w->size - w->at : want;
        if (got == 0) return png_fail(w, PNG_REFUSED, "image file is truncated (0 bytes not processed)");
        status = zip_feed(s, w->data + w->at, got);
        w->at += got;
    }
    /* load_end: the rest of this chunk, then the chunks after the image */
    w->at += left < w->size - w->at ? left : w->size - w->at;
    if (png_load_end(w) != 0) return -1;
    if (status < 0) return png_fail(w, PNG_REFUSED, "%s", codec_message(status));
    return 0;
}

static int keep_metadata(const png_info *info, if_image *image) {
    if (info->mode == IF_MODE_P && info->palette) {
        size_t entries = info->palette_size / 3 > 256 ? 256 : info->palette_size / 3;
        for (size_t i = 0; i < entries; i++) {
            memcpy(image->palette + 4 * i, info->palette + 3 * i, 3);
            image->palette[4 * i + 3] = 255;
        }
        image->palette_size = (uint32_t)entries;
    }
    if (info->has_transparency) {
        image->transparency = malloc(info->transparency_size ? info->transparency_size : 1);
        if (!image->transparency) return -1;
        memcpy(image->transparency, info->transparency, info->transparency_size);
        image->transparency_size = info->transparency_size;
    }
    if (info->icc && info->icc_size) {
        image->icc_profile = malloc(info->icc_size);
        if (!image->icc_profile) return -1;
        memcpy(image->icc_profile, info->icc, info->icc_size);
        image->icc_profile_size = info->icc_size;
    }
    if (info->comment && info->comment_size) {
        image->comment = malloc(info->comment_size);
        if (!image->comment) return -1;
        memcpy(image->comment, info->comment, info->comment_size);
        image->comment_size = info->comment_size;
    }
    return 0;
}

static int decode(const char *name, png_walk *w, int64_t max_pixels, if_image *image, char *err, size_t err_size) {
    png_info *info = w->info;
    if (png_open(w) != 0) {
        if (w->verdict == PNG_UNIDENTIFIED) snprintf(err, err_size, "cannot identify image file '%s'", name);
        else snprintf(err, err_size, "%s: %s", name, w->message);
        return -1;
    }
    if (if_check_pixels(name, info->width, info->height, max_pixels, err, err_size) != 0) return -1;
    if (!info->has_tile) {
        snprintf(err, err_size, "%s: cannot load this image", name);
        return -1;
    }
    uint32_t x0 = 0, y0 = 0, x1 = info->width, y1 = info->height;
    if (info->has_bbox) {
        x0 = info->bbox[0], y0 = info->bbox[1], x1 = info->bbox[2], y1 = info->bbox[3];
        if (x1 <= x0 || y1 <= y0 || x1 > info->width || y1 > info->height) {
            snprintf(err, err_size, "%s: tile cannot extend outside image", name);
            return -1;
        }
    }
    if (if_image_alloc(image, info->width, info->height, info->mode) != 0) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, info->width, info->height);
        return -1;
    }
    memset(image->pixels, 0, (size_t)info->width * info->height * image->bands * image->sample_size);
    zip_state s;
    memset(&s, 0, sizeof s);
    s.xsize = (int)(x1 - x0);
    s.ysize = (int)(y1 - y0);
    s.xoff = (int)x0;
    s.yoff = (int)y0;
    s.bits = info->bits;
    s.bytes = ((size_t)s.xsize * (size_t)s.bits + 7) / 8;
    s.interlaced = info->interlaced;
    s.image = image;
    s.raw = info->raw;
    s.buffer = calloc(s.bytes + 1, 1);
    s.previous = calloc(s.bytes + 1, 1);
    int rc = -1;
    if (!s.buffer || !s.previous || inflateInit(&s.z) != Z_OK) {
        snprintf(err, err_size, "%s: out of memory", name);
    } else {
        rc = load_tile(w, &s);
        inflateEnd(&s.z);
        if (rc != 0) snprintf(err, err_size, "%s: %s", name, w->message);
        else if (keep_metadata(info, image) != 0) {
            snprintf(err, err_size, "%s: out of memory", name);
            rc = -1;
        }
    }
    free(s.buffer);
    free(s.previous);
    if (rc != 0) if_image_free(image);
    return rc;
}

int if_png_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                  char *err, size_t err_size) {
    png_info info;
    memset(&info, 0, sizeof info);
    memset(image, 0, sizeof *image);
    png_walk w;
    memset(&w, 0, sizeof w);
    w.data = data;
    w.size = size;
    w.info = &info;
    int rc = decode(name, &w, max_pixels, image, err, err_size);
    free(info.transparency);
    free(info.icc);
    free(info.comment);
    return rc;
}
