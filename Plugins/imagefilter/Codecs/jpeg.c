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
    /* The encoder's output lives here, in memory, so it survives a longjmp. */
    unsigned char *buffer;
    unsigned long length;
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
    failure->buffer = NULL;
    failure->length = 0;
    failure->icc = NULL;
    failure->icc_length = 0;
}

int if_jpeg_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                   char *err, size_t err_size) {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    install(&failure);
    info.err = &failure.base;
    memset(image, 0, sizeof *image);
    if (setjmp(failure.escape)) {
        if (failure.truncated) snprintf(err, err_size, "%s: image file is truncated", name);
        else snprintf(err, err_size, "%s: broken JPEG data: %s", name, failure.message);
        jpeg_destroy_decompress(&info);
        if_image_free(image);
        free(failure.icc);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    /* Pillow keeps the APP2 ICC profile; a PNG written from this image carries it. */
    jpeg_save_markers(&info, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(&info, TRUE);
    if (!jpeg_read_icc_profile(&info, &failure.icc, &failure.icc_length)) failure.icc = NULL;
    if_mode mode;
    switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE:
        info.out_color_space = JCS_GRAYSCALE;
        mode = IF_MODE_L;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        info.out_color_space = JCS_RGB;
        mode = IF_MODE_RGB;
        break;
    default:
        snprintf(err, err_size, "%s: unsupported JPEG colour space (CMYK or YCCK): only greyscale and RGB are filtered",
                 name);
        jpeg_destroy_decompress(&info);
        free(failure.icc);
        return -1;
    }
    if (if_check_pixels(name, info.image_width, info.image_height, max_pixels, err, err_size) != 0) {
        jpeg_destroy_decompress(&info);
        free(failure.icc);
        return -1;
    }
    jpeg_start_decompress(&info);
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
    install(&failure);
    info.err = &failure.base;
    if (setjmp(failure.escape)) {
        snprintf(err, err_size, "JPEG encoding failed: %s", failure.message);
        jpeg_destroy_compress(&info);
        free(failure.buffer);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &failure.buffer, &failure.length);
    info.image_width = image->width;
    info.image_height = image->height;
    info.input_components = (int)image->bands;
    info.in_color_space = space;
    /* Pillow's default save: libjpeg's own defaults (quality 75, 4:2:0,
     * baseline, ISLOW, JFIF 1.01 with density 1x1). */
    jpeg_set_defaults(&info);
    if (quality > 0) jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)image->width * image->bands;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = image->pixels + (size_t)info.next_scanline * stride;
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    int rc = if_bytes_append(out, failure.buffer, failure.length);
    free(failure.buffer);
    if (rc != 0) snprintf(err, err_size, "out of memory writing JPEG");
    return rc;
}
