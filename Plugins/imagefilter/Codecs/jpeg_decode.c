/* Decoding a whole JPEG as Pillow's open() + load() does (see jpeg_common.h). */
#include "jpeg_common.h"

#include <stdlib.h>
#include <string.h>

/* Keeps what Pillow's JPEG save carries over from the file (the comment) and
 * what its PNG save does (the ICC profile). */
static int keep_metadata(const jpeg_opened *opened, if_image *image) {
    const if_jpeg_header *h = &opened->header;
    if (h->icc && h->icc_size) {
        image->icc_profile = malloc(h->icc_size);
        if (!image->icc_profile) return -1;
        memcpy(image->icc_profile, h->icc, h->icc_size);
        image->icc_profile_size = h->icc_size;
    }
    if (h->comment && h->comment_size) {
        image->comment = malloc(h->comment_size);
        if (!image->comment) return -1;
        memcpy(image->comment, h->comment, h->comment_size);
        image->comment_size = h->comment_size;
    }
    return 0;
}

int if_jpeg_decode(const char *name, const uint8_t *data, size_t size, int64_t max_pixels, if_image *image,
                   char *err, size_t err_size) {
    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    suspending_source source;
    jpeg_opened opened;
    memset(&opened, 0, sizeof opened);
    if_jpeg_failure_install(&failure);
    info.err = &failure.base;
    memset(image, 0, sizeof *image);
    if (setjmp(failure.escape)) {
        if_jpeg_failed(&failure, name, err, err_size);
        jpeg_destroy_decompress(&info);
        if_jpeg_header_free(&opened.header);
        if_image_free(image);
        return -1;
    }
    jpeg_create_decompress(&info);
    int rc = if_jpeg_open(&info, &failure, &source, name, data, size, max_pixels, &opened, err, err_size);
    if (rc == 0 && if_image_alloc(image, info.output_width, info.output_height, opened.mode) != 0) {
        snprintf(err, err_size, "%s: out of memory for a %ux%u image", name, info.output_width, info.output_height);
        rc = -1;
    }
    if (rc == 0 && keep_metadata(&opened, image) != 0) {
        snprintf(err, err_size, "%s: out of memory", name);
        rc = -1;
    }
    size_t stride = (size_t)image->width * image->bands;
    while (rc == 0 && info.output_scanline < info.output_height) {
        JSAMPROW row = image->pixels + (size_t)info.output_scanline * stride;
        if (jpeg_read_scanlines(&info, &row, 1) != 1) {
            if_jpeg_truncated(&source, name, err, err_size);
            rc = -1;
        }
    }
    /* Suspending here (no EOI after the last row) leaves the image whole, as in Pillow. */
    if (rc == 0) jpeg_finish_decompress(&info);
    if (rc == 0 && opened.mode == IF_MODE_CMYK) if_jpeg_invert(image->pixels, stride * image->height);
    jpeg_destroy_decompress(&info);
    if_jpeg_header_free(&opened.header);
    if (rc != 0) if_image_free(image);
    return rc;
}
