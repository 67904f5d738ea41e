/* Photo-like sample images, made on the spot so no large binaries ship:
 * smooth gradients, soft discs, a few hard-edged shapes (so edge filters
 * have something to find) and a little noise, from a seed. */
#include "if_codec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t next_random(uint64_t *state) {
    /* xorshift64*: enough for texture. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int if_make_sample(const char *path, uint32_t width, uint32_t height, uint64_t seed, char *err, size_t err_size) {
    if (width == 0 || height == 0 || (uint64_t)width * height > 100000000ULL) {
        snprintf(err, err_size, "sample size %ux%u is out of range", width, height);
        return -1;
    }
    const char *dot = strrchr(path, '.');
    int png = dot && (strcmp(dot, ".png") == 0 || strcmp(dot, ".PNG") == 0);
    if_image image;
    if (if_image_alloc(&image, width, height, IF_MODE_RGB) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    double cx[6], cy[6], r[6], colour[6][3];
    for (int i = 0; i < 6; i++) {
        cx[i] = (double)(next_random(&state) % width);
        cy[i] = (double)(next_random(&state) % height);
        r[i] = (double)(width + height) / 12.0 * (1.0 + (double)(next_random(&state) % 100) / 60.0);
        for (int c = 0; c < 3; c++) colour[i][c] = (double)(next_random(&state) % 256);
    }
    double bx[4], by[4], bw[4], bh[4], shade[4][3];
    for (int i = 0; i < 4; i++) {
        bx[i] = (double)(next_random(&state) % width);
        by[i] = (double)(next_random(&state) % height);
        bw[i] = (double)(width / 8 + next_random(&state) % (width / 4 + 1));
        bh[i] = (double)(height / 8 + next_random(&state) % (height / 4 + 1));
        for (int c = 0; c < 3; c++) shade[i][c] = (double)(next_random(&state) % 256);
    }
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            double fx = (double)x / width, fy = (double)y / height;
            double v[3] = {40 + 150 * fx, 60 + 120 * fy, 180 - 100 * fx * fy};
            for (int i = 0; i < 6; i++) {
                double dx = x - cx[i], dy = y - cy[i];
                double w = exp(-(dx * dx + dy * dy) / (2 * r[i] * r[i]));
                for (int c = 0; c < 3; c++) v[c] = v[c] * (1 - w) + colour[i][c] * w;
            }
            for (int i = 0; i < 4; i++) {
                int inside = i % 2 ? (x >= bx[i] && x < bx[i] + bw[i] && y >= by[i] && y < by[i] + bh[i])
                                   : ((x - bx[i]) * (x - bx[i]) + (y - by[i]) * (y - by[i]) < bw[i] * bw[i] / 4);
                if (inside)
                    for (int c = 0; c < 3; c++) v[c] = 0.3 * v[c] + 0.7 * shade[i][c];
            }
            uint8_t *p = image.pixels + ((size_t)y * width + x) * 3;
            for (int c = 0; c < 3; c++) {
                double noisy = v[c] + (double)(next_random(&state) % 13) - 6.0;
                p[c] = (uint8_t)(noisy < 0 ? 0 : noisy > 255 ? 255 : noisy);
            }
        }
    }
    if_bytes bytes = {0};
    int rc = png ? if_encode_png(&image, &bytes, err, err_size) : if_encode_jpeg(&image, 90, &bytes, err, err_size);
    if (rc == 0) rc = if_write_atomically(path, &bytes, NULL, err, err_size);
    if_bytes_free(&bytes);
    if_image_free(&image);
    return rc;
}
