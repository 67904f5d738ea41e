/*
 * if_filter.h — Pillow 13 ImageFilter arithmetic for the imagefilter plugin.
 *
 * Every filter reproduces Pillow's output byte for byte (binary32 arithmetic in
 * Pillow's operation order, Pillow's borders, Pillow's refusals).
 */
#ifndef IF_FILTER_H
#define IF_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "if_image.h"

/* Nothing here is exported from the plugin: its only dynamic symbol is taskhost_plugin_entry. */
#pragma GCC visibility push(hidden)

typedef struct if_filter if_filter;

/* Parses a filter spec, case-insensitive names: CONTOUR, BLUR, DETAIL, EDGE_ENHANCE, EDGE_ENHANCE_MORE, EMBOSS,
   FIND_EDGES, SHARPEN, SMOOTH, SMOOTH_MORE, GaussianBlur(r) (default 2), BoxBlur(r) (r required),
   UnsharpMask(radius,percent,threshold) (defaults 2,150,3; any prefix of the arguments), MedianFilter(size)
   (default 3), MinFilter(size), MaxFilter(size), RankFilter(size,rank), ModeFilter(size) (default 3), and a custom
   kernel written Kernel(3x3; 1 2 1 2 4 2 1 2 1) or Kernel(5x5; v1 ... v25; scale=S; offset=O) (scale defaults to
   the sum of the values, offset 0; values separated by spaces or commas). Returns NULL with a one-line message in
   err on failure. */
if_filter *if_filter_parse(const char *spec, char *err, size_t err_size);

void if_filter_free(if_filter *filter);

/* Canonical name, e.g. "CONTOUR", "GaussianBlur(2.5)". */
const char *if_filter_name(const if_filter *filter);

/* out gets a new image of the same size and mode (palette, ICC profile and transparency copied).
   Returns 0, or -1 with Pillow's refusal message in err. Never touches in. */
int if_filter_apply(const if_filter *filter, const if_image *in, if_image *out, char *err, size_t err_size);

/* Row at a time, for pipelines that never hold the whole image (if_jpeg_stream): a row filter for a
   width x height image of `mode`, or NULL when this filter cannot run that way there (only 3x3 and 5x5 kernels
   on 8-bit images at least the kernel's size can; use if_filter_apply otherwise). Its rows are exactly those of
   if_filter_apply's output. */
typedef struct if_row_filter if_row_filter;
if_row_filter *if_row_filter_new(const if_filter *filter, uint32_t width, uint32_t height, if_mode mode);
/* Rows needed above and below each output row (1 for 3x3, 2 for 5x5). */
uint32_t if_row_filter_margin(const if_row_filter *rf);
/* Output row y from rows[i] = input row y - margin + i (i = 0 .. 2 * margin; rows outside the image may be
   anything readable). Any order works; top to bottom, each input row is read once. */
void if_row_filter_row(if_row_filter *rf, uint32_t y, const uint8_t *const *rows, uint8_t *out);
void if_row_filter_free(if_row_filter *rf);

/* Which code if_filter_apply runs: IF_SIMD_AUTO (the default: the widest versions the CPU has, AVX-512 where a
   filter has one, else AVX2), IF_SIMD_AVX2 (AVX2 at most) or IF_SIMD_BASELINE (SSE2 / portable versions only).
   Results are identical; this exists so that tests and benchmarks can check and time every level.
   Process-wide. */
enum { IF_SIMD_AUTO = 0, IF_SIMD_BASELINE = 1, IF_SIMD_AVX2 = 2 };
void if_filter_set_simd(int level);
/* Which code a box blur of one pass each way (BoxBlur) runs: 0 (the default) its own rows of bytes, 1 the strips
   of 16-bit words that GaussianBlur and UnsharpMask take. Results are identical; this exists so that tests can
   check both. Process-wide. */
void if_filter_set_box_strips(int strips);

#ifdef IF_FILTER_INTERNAL
/* Shared between the files of Plugins/imagefilter/Filters only. */
#include <stdint.h>

typedef enum if_filter_kind {
    IF_FK_KERNEL,    /* builtins and Kernel(...) */
    IF_FK_GAUSSIAN,
    IF_FK_BOX,
    IF_FK_UNSHARP,
    IF_FK_RANK,      /* RankFilter, MedianFilter, MinFilter, MaxFilter */
    IF_FK_MODE
} if_filter_kind;

struct if_filter {
    if_filter_kind kind;
    char name[2048];
    /* kernel */
    int kw, kh;
    double *kvalues;      /* kw * kh, row by row as written */
    double scale, offset;
    /* blurs / unsharp: radius is Python's float before any binary32 conversion */
    double radius;
    int percent, threshold;
    /* rank / mode */
    long size, rank;
};

/* Each returns 0 or -1 with err set; `out` is allocated by the caller with in's size and mode. */
int if_kernel_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size);
int if_boxblur_raw(const if_image *in, if_image *out, float xradius, float yradius, int passes,
                   char *err, size_t err_size);
float if_gaussian_box_radius(float sigma);
int if_unsharp_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size);
int if_rank_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size);
int if_mode_apply(const if_filter *f, const if_image *in, if_image *out, char *err, size_t err_size);
void if_filter_seterr(char *err, size_t err_size, const char *fmt, ...);
/* 1 if the AVX2 versions should run (CPU support, not forced to the baseline). */
int if_filter_use_avx2(void);
/* 1 if the AVX-512 versions (AVX512F and AVX512BW) should run (CPU support, level IF_SIMD_AUTO). */
int if_filter_use_avx512(void);
#endif

#pragma GCC visibility pop

#endif /* IF_FILTER_H */
