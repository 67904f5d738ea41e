/* Encoding a whole image as JPEG with Pillow's save() defaults (see jpeg_common.h). */
#include "jpeg_common.h"

#include <stdlib.h>
#include <string.h>

int if_encode_jpeg(const if_image *image, int quality, if_bytes *out, char *err, size_t err_size) {
    J_COLOR_SPACE space;
    if (if_jpeg_space(image->mode, &space, err, err_size) != 0) return -1;
    if (image->comment_size > 65533) { /* what one COM segment holds */
        snprintf(err, err_size, "Comment is too long");
        return -1;
    }
    struct jpeg_compress_struct info;
    jpeg_failure failure;
    bytes_destination dest;
    uint8_t *volatile row = NULL;
    if_jpeg_failure_install(&failure);
    info.err = &failure.base;
    if_jpeg_destination_install(&info, &dest, out, if_jpeg_encoded_guess(image->width, image->height, image->bands));
    if (setjmp(failure.escape)) {
        if (dest.out_of_memory) snprintf(err, err_size, "out of memory writing JPEG");
        else snprintf(err, err_size, "JPEG encoding failed: %s", failure.message);
        jpeg_destroy_compress(&info);
        free(row);
        out->length = dest.start;
        return -1;
    }
    jpeg_create_compress(&info);
    info.dest = &dest.base; /* jpeg_create_compress clears the struct */
    const size_t stride = (size_t)image->width * image->bands;
    /* Rows Pillow packs on the way: CMYK as Adobe's inverted "CMYK;I"; a "1" image, whose samples a filter
     * may have left anywhere in 0..255, as "L" with every non-zero sample 255. */
    const int invert = image->mode == IF_MODE_CMYK, bilevel = image->mode == IF_MODE_1;
    if ((invert || bilevel) && !(row = malloc(stride ? stride : 1))) {
        snprintf(err, err_size, "out of memory writing JPEG");
        jpeg_destroy_compress(&info);
        return -1;
    }
    if_jpeg_encoder_start(&info, image->width, image->height, image->bands, space, quality, image->comment,
                          image->comment_size);
    while (info.next_scanline < info.image_height) {
        if (invert || bilevel) {
            memcpy(row, image->pixels + (size_t)info.next_scanline * stride, stride);
            if (invert) if_jpeg_invert(row, stride);
            else
                for (size_t i = 0; i < stride; i++) row[i] = row[i] ? 255 : 0;
            JSAMPROW one = row;
            jpeg_write_scanlines(&info, &one, 1);
            continue;
        }
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
    free(row);
    return 0;
}
