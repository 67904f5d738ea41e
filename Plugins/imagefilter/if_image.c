#include "if_image.h"

#include <stdlib.h>
#include <string.h>

uint32_t if_mode_bands(if_mode mode) {
    switch (mode) {
    case IF_MODE_LA: return 2;
    case IF_MODE_RGB: return 3;
    case IF_MODE_RGBA:
    case IF_MODE_CMYK: return 4;
    case IF_MODE_L:
    case IF_MODE_P:
    case IF_MODE_1:
    case IF_MODE_I16:
    case IF_MODE_I: return 1;
    }
    return 1;
}

uint32_t if_mode_sample_size(if_mode mode) {
    switch (mode) {
    case IF_MODE_I16: return 2;
    case IF_MODE_I: return 4;
    default: return 1;
    }
}

const char *if_mode_name(if_mode mode) {
    switch (mode) {
    case IF_MODE_L: return "L";
    case IF_MODE_LA: return "LA";
    case IF_MODE_RGB: return "RGB";
    case IF_MODE_RGBA: return "RGBA";
    case IF_MODE_P: return "P";
    case IF_MODE_1: return "1";
    case IF_MODE_I16: return "I;16";
    case IF_MODE_I: return "I";
    case IF_MODE_CMYK: return "CMYK";
    }
    return "?";
}

int if_image_alloc(if_image *image, uint32_t width, uint32_t height, if_mode mode) {
    memset(image, 0, sizeof *image);
    image->width = width;
    image->height = height;
    image->mode = mode;
    image->bands = if_mode_bands(mode);
    image->sample_size = if_mode_sample_size(mode);
    size_t count = (size_t)width * height * image->bands * image->sample_size;
    image->pixels = malloc(count ? count : 1);
    return image->pixels ? 0 : -1;
}

void if_image_free(if_image *image) {
    free(image->pixels);
    free(image->icc_profile);
    free(image->transparency);
    free(image->comment);
    memset(image, 0, sizeof *image);
}
