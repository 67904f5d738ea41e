/*
 * JPEG through libjpeg(-turbo). libjpeg reports errors by calling
 * error_exit, whose default calls exit(): ours longjmps back here instead,
 * so a corrupt file is an error message, not a dead worker. libjpeg only
 * warns at a premature end of data (and fills the rest with grey); Pillow
 * calls that a truncated file, and so do we.
 */
#include "if_codec_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct jpeg_failure {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    int truncated;
    char message[JMSG_LENGTH_MAX];
    /* The decoder's ICC profile (malloc'd by libjpeg), freed on failure. */
    JOCTET *icc;
    unsigned int icc_length;
} jpeg_failure;

static void on_error(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    info->err->format_message(info, failure->message);
    longjmp(failure->escape, 1);
}

static void on_message(j_common_ptr info, int level) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) {
        failure->truncated = 1;
        longjmp(failure->escape, 1);
    }
    /* Other warnings (extraneous bytes and the like) Pillow ignores too. */
}

static void install(jpeg_failure *failure) {
    jpeg_std_error(&failure->base);
    failure->base.error_exit = on_error;
    failure->base.emit_message = on_message;
    failure->truncated = 0;
    failure->message[0] = 0;
    failure->icc = NULL;
    failure->icc_length = 0;
}

/* Reads the header and starts decompression, as Pillow's open() + load()
 * would: 0, or -1 with a message (libjpeg's own errors longjmp to
 * failure->escape instead). The ICC profile, if any, is left in failure->icc. */
static int decoder_open(struct jpeg_decompress_struct *info, jpeg_failure *failure, const char *name,
                        const uint8_t *data, size_t size, int64_t max_pixels, if_mode *mode, char *err,
                        size_t err_size) {
    jpeg_mem_src(info, data, (unsigned long)size);
    /* Pillow keeps the APP2 ICC profile; a PNG written from this image carries it. */
    jpeg_save_markers(info, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(info, TRUE);
    if (!jpeg_read_icc_profile(info, &failure->icc, &failure->icc_length)) failure->icc = NULL;
    switch (info->jpeg_color_space) {
    case JCS_GRAYSCALE:
        info->out_color_space = JCS_GRAYSCALE;
        *mode = IF_MODE_L;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        info->out_color_space = JCS_RGB;
        *mode = IF_MODE_RGB;
        break;
    default:
        snprintf(err, err_size, "%s: unsupported JPEG colour space (CMYK or YCCK): only greyscale and RGB are filtered",
                 name);
        return -1;
    }
    if (if_check_pixels(name, info->image_width, info->image_height, max_pixels, err, err_size) != 0) return -1;
    jpeg_start_decompress(info);
    return 0;
}

static void decode_failed(const jpeg_failure *failure, const char *name, char *err, size_t err_size) {
    if (failure->truncated) snprintf(err, err_size, "%s: image file is truncated", name);
    else snprintf(err, err_size, "%s: broken JPEG data: %s", name, failure->message);
}

int if_jpeg_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                   char *err, size_t err_size) {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    install(&failure);
    info.err = &failure.base;
    memset(image, 0, sizeof *image);
    if (setjmp(failure.escape)) {
        decode_failed(&failure, name, err, err_size);
        jpeg_destroy_decompress(&info);
        if_image_free(image);
        free(failure.icc);
        return -1;
    }
    jpeg_create_decompress(&info);
    if_mode mode;
    if (decoder_open(&info, &failure, name, data, size, max_pixels, &mode, err, err_size) != 0) {
        jpeg_destroy_decompress(&info);
        free(failure.icc);
        return -1;
    }
    if (if_image_alloc(image, info.output_width, info.output_height, mode) != 0) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, info.output_width, info.output_height);
        jpeg_destroy_decompress(&info);
        free(failure.icc);
        return -1;
    }
    image->icc_profile = failure.icc;
    image->icc_profile_size = failure.icc_length;
    failure.icc = NULL; /* owned by the image now */
    size_t stride = (size_t)image->width * image->bands;
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = image->pixels + (size_t)info.output_scanline * stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return 0;
}

/* The encoder writes straight into the caller's if_bytes (no growing side
 * buffer copied over at the end): it starts with room for a generous guess
 * and doubles when that runs out. */
typedef struct bytes_destination {
    struct jpeg_destination_mgr base;
    if_bytes *out;
    size_t start;  /* out->length before encoding: restored on failure */
    size_t guess;  /* first capacity asked for */
    int out_of_memory;
} bytes_destination;

static int reserve(if_bytes *out, size_t room) {
    if (out->capacity - out->length >= room) return 0;
    size_t capacity = out->capacity ? out->capacity : 4096;
    while (capacity - out->length < room) capacity *= 2;
    uint8_t *grown = realloc(out->data, capacity);
    if (!grown) return -1;
    out->data = grown;
    out->capacity = capacity;
    return 0;
}

static void destination_grow(j_compress_ptr info, bytes_destination *dest, size_t room) {
    if (reserve(dest->out, room) != 0) {
        dest->out_of_memory = 1;
        ERREXIT1(info, JERR_OUT_OF_MEMORY, 10);
    }
    dest->base.next_output_byte = dest->out->data + dest->out->length;
    dest->base.free_in_buffer = dest->out->capacity - dest->out->length;
}

static void destination_init(j_compress_ptr info) {
    bytes_destination *dest = (bytes_destination *)info->dest;
    destination_grow(info, dest, dest->guess);
}

static boolean destination_empty(j_compress_ptr info) {
    /* The whole free space is full. */
    bytes_destination *dest = (bytes_destination *)info->dest;
    dest->out->length = dest->out->capacity;
    destination_grow(info, dest, dest->out->capacity);
    return TRUE;
}

static void destination_term(j_compress_ptr info) {
    bytes_destination *dest = (bytes_destination *)info->dest;
    dest->out->length = dest->out->capacity - dest->base.free_in_buffer;
}

static void destination_install(j_compress_ptr info, bytes_destination *dest, if_bytes *out, size_t guess) {
    dest->base.init_destination = destination_init;
    dest->base.empty_output_buffer = destination_empty;
    dest->base.term_destination = destination_term;
    dest->out = out;
    dest->start = out->length;
    dest->guess = guess;
    dest->out_of_memory = 0;
    info->dest = &dest->base;
}

/* Header fields and settings of Pillow's default save. */
static void encoder_setup(j_compress_ptr info, uint32_t width, uint32_t height, uint32_t bands, J_COLOR_SPACE space,
                          int quality) {
    info->image_width = width;
    info->image_height = height;
    info->input_components = (int)bands;
    info->in_color_space = space;
    /* Pillow's default save: libjpeg's own defaults (quality 75, 4:2:0,
     * baseline, ISLOW, JFIF 1.01 with density 1x1). */
    jpeg_set_defaults(info);
    if (quality > 0) jpeg_set_quality(info, quality, TRUE);
}

/* Room for a typical encoding of width x height x bands samples (an eighth of
 * the raw size covers photos at Pillow's qualities; more only costs a realloc). */
static size_t encoded_guess(uint32_t width, uint32_t height, uint32_t bands) {
    return (size_t)width * height * bands / 8 + 4096;
}

int if_encode_jpeg(const if_image *image, int quality, if_bytes *out, char *err, size_t err_size) {
    J_COLOR_SPACE space;
    switch (image->mode) {
    case IF_MODE_L:
    case IF_MODE_1: space = JCS_GRAYSCALE; break;
    case IF_MODE_RGB: space = JCS_RGB; break;
    default:
        snprintf(err, err_size, "cannot write mode %s as JPEG", if_mode_name(image->mode));
        return -1;
    }
    struct jpeg_compress_struct info;
    jpeg_failure failure;
    bytes_destination dest;
    install(&failure);
    info.err = &failure.base;
    destination_install(&info, &dest, out, encoded_guess(image->width, image->height, image->bands));
    if (setjmp(failure.escape)) {
        if (dest.out_of_memory) snprintf(err, err_size, "out of memory writing JPEG");
        else snprintf(err, err_size, "JPEG encoding failed: %s", failure.message);
        jpeg_destroy_compress(&info);
        out->length = dest.start;
        return -1;
    }
    jpeg_create_compress(&info);
    info.dest = &dest.base; /* jpeg_create_compress clears the struct */
    encoder_setup(&info, image->width, image->height, image->bands, space, quality);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)image->width * image->bands;
    while (info.next_scanline < info.image_height) {
        JSAMPROW rows[16];
        JDIMENSION count = 0;
        while (count < 16 && info.next_scanline + count < info.image_height) {
            rows[count] = image->pixels + (size_t)(info.next_scanline + count) * stride;
            count++;
        }
        jpeg_write_scanlines(&info, rows, count);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    return 0;
}

/* Rows per strip of if_jpeg_stream: one 4:2:0 iMCU row, what both libjpeg
 * directions work in anyway. */
#define STRIP_ROWS 16
/* The widest stage it takes: a 5x5 kernel needs 2 rows either side. */
#define MAX_MARGIN 2

int if_jpeg_stream(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, int quality,
                   if_row_stage_open open, void *arg, if_bytes *out, char *err, size_t err_size) {
    struct jpeg_decompress_struct decoder;
    struct jpeg_compress_struct encoder;
    jpeg_failure decoding, encoding;
    bytes_destination dest;
    uint8_t *volatile buffer = NULL;
    memset(&decoder, 0, sizeof decoder);
    memset(&encoder, 0, sizeof encoder);
    install(&decoding);
    install(&encoding);
    decoder.err = &decoding.base;
    encoder.err = &encoding.base;
    destination_install(&encoder, &dest, out, 0);
    if (setjmp(decoding.escape)) {
        decode_failed(&decoding, name, err, err_size);
        goto failed;
    }
    if (setjmp(encoding.escape)) {
        if (dest.out_of_memory) snprintf(err, err_size, "%s: out of memory writing JPEG", name);
        else snprintf(err, err_size, "%s: JPEG encoding failed: %s", name, encoding.message);
        goto failed;
    }
    jpeg_create_decompress(&decoder);
    jpeg_create_compress(&encoder);
    if_mode mode;
    if (decoder_open(&decoder, &decoding, name, data, size, max_pixels, &mode, err, err_size) != 0) goto failed;
    /* A JPEG carries no ICC profile out, as Pillow drops it. */
    free(decoding.icc);
    decoding.icc = NULL;
    const uint32_t width = decoder.output_width, height = decoder.output_height;
    const uint32_t bands = (uint32_t)decoder.output_components;
    if_row_stage stage;
    if (open(arg, width, height, mode, &stage) != 0 || stage.margin > MAX_MARGIN) {
        jpeg_destroy_decompress(&decoder);
        jpeg_destroy_compress(&encoder);
        return 1;
    }
    const uint32_t margin = stage.margin;
    const size_t stride = (size_t)width * bands;
    /* The input window holds image rows [base, have): a strip's rows and
     * `margin` rows either side; the output strip follows it. */
    const uint32_t window = STRIP_ROWS + 2 * margin;
    buffer = malloc(stride * (window + STRIP_ROWS));
    if (!buffer) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, width, height);
        goto failed;
    }
    uint8_t *const input = buffer, *const strip = buffer + stride * window;
    destination_install(&encoder, &dest, out, encoded_guess(width, height, bands));
    encoder_setup(&encoder, width, height, bands, mode == IF_MODE_L ? JCS_GRAYSCALE : JCS_RGB, quality);
    jpeg_start_compress(&encoder, TRUE);
    JSAMPROW targets[STRIP_ROWS + 2 * MAX_MARGIN];
    const uint8_t *rows[2 * MAX_MARGIN + 1];
    uint32_t base = 0, have = 0;
    for (uint32_t y0 = 0; y0 < height; y0 += STRIP_ROWS) {
        const uint32_t y1 = y0 + STRIP_ROWS < height ? y0 + STRIP_ROWS : height;
        const uint32_t need = y1 + margin < height ? y1 + margin : height;
        const uint32_t keep = y0 > margin ? y0 - margin : 0;
        if (keep > base) {
            memmove(input, input + (size_t)(keep - base) * stride, (size_t)(have - keep) * stride);
            base = keep;
        }
        while (have < need) {
            JDIMENSION count = 0;
            for (uint32_t y = have; y < need; y++) targets[count++] = input + (size_t)(y - base) * stride;
            JDIMENSION got = jpeg_read_scanlines(&decoder, targets, count);
            if (got == 0) { /* cannot happen with a memory source (its end is a warning, above): no endless loop */
                snprintf(err, err_size, "%s: image file is truncated", name);
                goto failed;
            }
            have += got;
        }
        for (uint32_t y = y0; y < y1; y++) {
            for (uint32_t i = 0; i <= 2 * margin; i++) {
                /* Rows beyond the image are never read: clamp to keep the pointers inside it. */
                int64_t source = (int64_t)y - margin + i;
                if (source < 0) source = 0;
                if (source >= height) source = height - 1;
                rows[i] = input + (size_t)((uint32_t)source - base) * stride;
            }
            stage.row(stage.state, y, rows, strip + (size_t)(y - y0) * stride);
        }
        JDIMENSION count = 0;
        for (uint32_t y = y0; y < y1; y++) targets[count++] = strip + (size_t)(y - y0) * stride;
        JDIMENSION written = 0;
        while (written < count) written += jpeg_write_scanlines(&encoder, targets + written, count - written);
    }
    jpeg_finish_decompress(&decoder);
    jpeg_finish_compress(&encoder);
    jpeg_destroy_decompress(&decoder);
    jpeg_destroy_compress(&encoder);
    free(buffer);
    return 0;
failed:
    jpeg_destroy_decompress(&decoder);
    jpeg_destroy_compress(&encoder);
    free(buffer);
    free(decoding.icc);
    out->length = dest.start;
    return -1;
}
