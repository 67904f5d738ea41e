// Benchmark of the imagefilter filters on a 1920x1080 photo-like RGB image, one core.
// Build (from the package root; this file is not part of any target):
//   clang -std=c11 -O2 -D_GNU_SOURCE -I Plugins/imagefilter/include Plugins/imagefilter/if_image.c
//      Plugins/imagefilter/Filters/*.c Tests/ImageFilterTests/Fixtures/bench/bench_filters.c -lm -o /tmp/bench_filters
// (-O2 is what `swift build -c release` gives the plugin; the filter files turn FMA contraction off themselves.)
// Run: /tmp/bench_filters [--baseline | --avx2] [filter spec ...]   (prints "spec<TAB>best ms<TAB>Mpx/s" per
// filter; by default the widest versions the CPU has run (AVX-512 where a filter has one), --avx2 caps them at
// AVX2, --baseline times the SSE2/portable versions).
// Tests/ImageFilterTests/Fixtures/bench/bench_pillow.py times Pillow on the same image and prints the ratios.
#include "if_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *default_specs[] = {
    "BLUR", "CONTOUR", "DETAIL", "EDGE_ENHANCE", "EDGE_ENHANCE_MORE", "EMBOSS", "FIND_EDGES", "SHARPEN",
    "SMOOTH", "SMOOTH_MORE", "Kernel(5x5; 1 2 3 2 1 2 -4 6 -4 2 3 6 20 6 3 2 -4 6 -4 2 1 2 3 2 1; scale=37.5; offset=20.25)",
    "GaussianBlur(2)", "GaussianBlur(10)", "BoxBlur(2)", "BoxBlur(1.7)", "UnsharpMask(2,150,3)",
    "MedianFilter(3)", "MinFilter(3)", "MaxFilter(3)", "RankFilter(3,2)", "MedianFilter(5)", "MaxFilter(5)",
    "ModeFilter(3)", "ModeFilter(5)", "MedianFilter(7)", "ModeFilter(7)",
};

/* The same deterministic picture as bench_pillow.py: smooth gradients plus hashed noise. */
static void make_image(if_image *im, uint32_t W, uint32_t H) {
    if_image_alloc(im, W, H, IF_MODE_RGB);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            for (uint32_t b = 0; b < 3; b++) {
                uint32_t hsh = ((x * 73856093u) ^ (y * 19349663u) ^ (b * 83492791u)) & 31u;
                uint32_t v = (x * 255u / W + y * 255u / H + b * 60u) / 2u + hsh;
                im->pixels[((size_t)y * W + x) * 3 + b] = (uint8_t)(v & 255u);
            }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    const uint32_t W = 1920, H = 1080;
    if_image in;
    make_image(&in, W, H);
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "--baseline") == 0 || strcmp(argv[1], "--avx2") == 0)) {
        if_filter_set_simd(strcmp(argv[1], "--avx2") == 0 ? IF_SIMD_AVX2 : IF_SIMD_BASELINE);
        first = 2;
    }
    int nspec = argc > first ? argc - first : (int)(sizeof default_specs / sizeof *default_specs);
    for (int i = 0; i < nspec; i++) {
        const char *spec = argc > first ? argv[i + first] : default_specs[i];
        char err[256];
        if_filter *f = if_filter_parse(spec, err, sizeof err);
        if (!f) {
            fprintf(stderr, "%s: %s\n", spec, err);
            return 1;
        }
        double best = 1e30, total = 0;
        int runs = 0;
        while (runs < 3 || (total < 400 && runs < 50)) {
            if_image out;
            double t0 = now_ms();
            if (if_filter_apply(f, &in, &out, err, sizeof err) < 0) {
                fprintf(stderr, "%s: %s\n", spec, err);
                return 1;
            }
            double dt = now_ms() - t0;
            if_image_free(&out);
            if (dt < best) best = dt;
            total += dt;
            runs++;
        }
        printf("%s\t%.3f\t%.1f\n", spec, best, (double)W * H / best / 1e3);
        fflush(stdout);
        if_filter_free(f);
    }
    if_image_free(&in);
    return 0;
}
