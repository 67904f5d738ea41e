/* The JPEG pieces shared by decoding, encoding and the strip pipeline (see jpeg_common.h). */
#include "jpeg_common.h"

#include <stdlib.h>
#include <string.h>

#include <jerror.h>

static void on_error(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    failure->code = info->err->msg_code;
    info->err->format_message(info, failure->message);
    longjmp(failure->escape, 1);
}

static void on_message(j_common_ptr info, int level) {
    (void)info;
    (void)level; /* Pillow's decoder shows no warnings and stops at none. */
}

void if_jpeg_failure_install(jpeg_failure *failure) {
    jpeg_std_error(&failure->base);
    failure->base.error_exit = on_error;
    failure->base.emit_message = on_message;
    failure->message[0] = 0;
    failure->code = 0;
}

static void source_init(j_decompress_ptr info) { (void)info; }
static void source_term(j_decompress_ptr info) { (void)info; }
static boolean source_fill(j_decompress_ptr info) {
    (void)info;
    return FALSE; /* suspend: there is no more */
}
static void source_skip(j_decompress_ptr info, long count) {
    suspending_source *source = (suspending_source *)info->src;
    if (count <= 0) return;
    if ((size_t)count > source->base.bytes_in_buffer) {
        source->skip = (size_t)count - source->base.bytes_in_buffer;
        source->base.next_input_byte += source->base.bytes_in_buffer;
        source->base.bytes_in_buffer = 0;
    } else {
        source->base.next_input_byte += count;
        source->base.bytes_in_buffer -= (size_t)count;
    }
}

static void source_install(j_decompress_ptr info, suspending_source *source, const uint8_t *data, size_t size) {
    source->base.init_source = source_init;
    source->base.fill_input_buffer = source_fill;
    source->base.skip_input_data = source_skip;
    source->base.resync_to_restart = jpeg_resync_to_restart;
    source->base.term_source = source_term;
    source->base.next_input_byte = data;
    source->base.bytes_in_buffer = size;
    source->skip = 0;
    info->src = &source->base;
}

void if_jpeg_truncated(const suspending_source *source, const char *name, char *err, size_t err_size) {
    snprintf(err, err_size, "%s: image file is truncated (%zu bytes not processed)", name,
             source->base.bytes_in_buffer);
}

void if_jpeg_failed(const jpeg_failure *failure, const char *name, char *err, size_t err_size) {
    if (failure->code == JERR_SOF_UNSUPPORTED &&
        (failure->base.msg_parm.i[0] & 0xF3) == 0xC3) /* SOF3, 7, 11, 15: lossless */
        snprintf(err, err_size, "%s: lossless JPEG is not supported by this libjpeg", name);
    else
        snprintf(err, err_size, "%s: broken data stream when reading image file", name);
}

int if_jpeg_open(struct jpeg_decompress_struct *info, jpeg_failure *failure, suspending_source *source,
                 const char *name, const uint8_t *data, size_t size, int64_t max_pixels, jpeg_opened *opened,
                 char *err, size_t err_size) {
    (void)failure;
    if (if_jpeg_read_header(name, data, size, &opened->header, err, err_size) != 0) return -1;
    const if_jpeg_header *h = &opened->header;
    if (if_check_pixels(name, h->width, h->height, max_pixels, err, err_size) != 0) return -1;
    if (!h->has_scan) {
        snprintf(err, err_size, "%s: cannot load this image", name);
        return -1;
    }
    opened->mode = h->mode;
    source_install(info, source, data, size);
    int rc;
    do rc = jpeg_read_header(info, FALSE);
    while (rc == JPEG_HEADER_TABLES_ONLY);
    if (rc == JPEG_SUSPENDED) {
        if_jpeg_truncated(source, name, err, err_size);
        return -1;
    }
    info->out_color_space = h->mode == IF_MODE_L ? JCS_GRAYSCALE : h->mode == IF_MODE_RGB ? JCS_RGB : JCS_CMYK;
    if (!jpeg_start_decompress(info)) {
        if_jpeg_truncated(source, name, err, err_size);
        return -1;
    }
    if (info->output_width != h->width || info->output_height != h->height ||
        (uint32_t)info->output_components != if_mode_bands(h->mode)) {
        snprintf(err, err_size, "%s: broken data stream when reading image file", name);
        return -1;
    }
    return 0;
}

void if_jpeg_invert(uint8_t *samples, size_t count) {
    for (size_t i = 0; i < count; i++) samples[i] = (uint8_t)(255 - samples[i]);
}

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

void if_jpeg_destination_install(j_compress_ptr info, bytes_destination *dest, if_bytes *out, size_t guess) {
    dest->base.init_destination = destination_init;
    dest->base.empty_output_buffer = destination_empty;
    dest->base.term_destination = destination_term;
    dest->out = out;
    dest->start = out->length;
    dest->guess = guess;
    dest->out_of_memory = 0;
    info->dest = &dest->base;
}

/* An eighth of the raw size covers photos at Pillow's qualities; more only costs a realloc. */
size_t if_jpeg_encoded_guess(uint32_t width, uint32_t height, uint32_t bands) {
    return (size_t)width * height * bands / 8 + 4096;
}

int if_jpeg_space(if_mode mode, J_COLOR_SPACE *space, char *err, size_t err_size) {
    switch (mode) {
    case IF_MODE_L:
    case IF_MODE_1: *space = JCS_GRAYSCALE; return 0;
    case IF_MODE_RGB: *space = JCS_RGB; return 0;
    case IF_MODE_CMYK: *space = JCS_CMYK; return 0;
    default:
        snprintf(err, err_size, "cannot write mode %s as JPEG", if_mode_name(mode));
        return -1;
    }
}

void if_jpeg_encoder_start(j_compress_ptr info, uint32_t width, uint32_t height, uint32_t bands, J_COLOR_SPACE space,
                           int quality, const uint8_t *comment, size_t comment_size) {
    info->image_width = width;
    info->image_height = height;
    info->input_components = (int)bands;
    info->in_color_space = space;
    /* Pillow's default save: libjpeg's own defaults (quality 75, 4:2:0,
     * baseline, ISLOW, JFIF 1.01 with density 1x1; CMYK: Adobe marker, no
     * JFIF, no subsampling). */
    jpeg_set_defaults(info);
    if (quality > 0) jpeg_set_quality(info, quality, TRUE);
    jpeg_start_compress(info, TRUE);
    /* Pillow writes the comment it read (info["comment"]) right after the
     * header libjpeg writes; an empty one not at all. */
    if (comment && comment_size) jpeg_write_marker(info, JPEG_COM, comment, (unsigned int)comment_size);
}
