/* Running a parsed filter on an image: Pillow's refusals in its order, then the filter family's code. */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void if_filter_seterr(char *err, size_t err_size, const char *fmt, ...) {
    if (!err || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

static _Atomic int simd_level = IF_SIMD_AUTO;

void if_filter_set_simd(int level) { simd_level = level; }

int if_filter_use_avx2(void) {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(IF_FILTER_NO_AVX2)
    static _Atomic int cpu = -1;
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cpu == 1 && simd_level != IF_SIMD_BASELINE;
#else
    return 0;
#endif
}

int if_filter_use_avx512(void) {
#if (defined(__x86_64__) || defined(__i386__)) && !defined(IF_FILTER_NO_AVX2)
    static _Atomic int cpu = -1;
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
    }
    return cpu == 1 && simd_level == IF_SIMD_AUTO;
#else
    return 0;
#endif
}

static int copy_meta(const if_image *in, if_image *out) {
    memcpy(out->palette, in->palette, sizeof out->palette);
    out->palette_size = in->palette_size;
    if (in->icc_profile && in->icc_profile_size) {
        out->icc_profile = malloc(in->icc_profile_size);
        if (!out->icc_profile) return -1;
        memcpy(out->icc_profile, in->icc_profile, in->icc_profile_size);
        out->icc_profile_size = in->icc_profile_size;
    }
    if (in->transparency && in->transparency_size) {
        out->transparency = malloc(in->transparency_size);
        if (!out->transparency) return -1;
        memcpy(out->transparency, in->transparency, in->transparency_size);
        out->transparency_size = in->transparency_size;
    }
    if (in->comment && in->comment_size) {
        out->comment = malloc(in->comment_size);
        if (!out->comment) return -1;
        memcpy(out->comment, in->comment, in->comment_size);
        out->comment_size = in->comment_size;
    }
    return 0;
}

static int is_blur_mode(if_mode m) {
    return m == IF_MODE_L || m == IF_MODE_LA || m == IF_MODE_RGB || m == IF_MODE_RGBA || m == IF_MODE_CMYK;
}

int if_filter_apply(const if_filter *filter, const if_image *in, if_image *out, char *err, size_t err_size) {
    if (err && err_size) err[0] = 0;
    if (!filter || !in || !out) {
        if_filter_seterr(err, err_size, "invalid arguments");
        return -1;
    }
    /* Refusals that happen before any pixel work, in Pillow's order. */
    int copy_only = 0;
    switch (filter->kind) {
    case IF_FK_KERNEL:
        if (in->mode == IF_MODE_P) {
            if_filter_seterr(err, err_size, "cannot filter palette images");
            return -1;
        }
        if ((long)in->width < filter->kw || (long)in->height < filter->kh) copy_only = 1;
        else if (!((filter->kw == 3 || filter->kw == 5) && filter->kw == filter->kh)) {
            if_filter_seterr(err, err_size, "bad kernel size");
            return -1;
        }
        break;
    case IF_FK_GAUSSIAN:
    case IF_FK_BOX:
        if (filter->radius == 0) {
            copy_only = 1;
            break;
        }
        /* fall through */
    case IF_FK_UNSHARP:
        if (in->width == 0 || in->height == 0) {
            copy_only = 1; /* Pillow returns empty images before looking at the radius or the mode */
            break;
        }
        if (filter->kind != IF_FK_BOX) {
            /* Pillow validates the derived box radius before the mode */
            float br = if_gaussian_box_radius((float)filter->radius);
            if (!(br >= 0.0f)) {
                if_filter_seterr(err, err_size, "radius must be >= 0");
                return -1;
            }
            if (br >= 2147483648.0f) {
                if_filter_seterr(err, err_size, "radius too large");
                return -1;
            }
        }
        if (!is_blur_mode(in->mode)) {
            if_filter_seterr(err, err_size, "image has wrong mode");
            return -1;
        }
        break;
    case IF_FK_RANK:
        if (in->mode == IF_MODE_P) {
            if_filter_seterr(err, err_size, "cannot filter palette images");
            return -1;
        }
        if (filter->size < 0) {
            if_filter_seterr(err, err_size, "bad kernel size");
            return -1;
        }
        if (in->mode == IF_MODE_I16) {
            if_filter_seterr(err, err_size, "image has wrong mode");
            return -1;
        }
        break;
    case IF_FK_MODE:
        if (in->mode == IF_MODE_I || in->mode == IF_MODE_I16) {
            if_filter_seterr(err, err_size, "image has wrong mode");
            return -1;
        }
        break;
    }
    if_image tmp;
    if (if_image_alloc(&tmp, in->width, in->height, in->mode) < 0) {
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    if (copy_meta(in, &tmp) < 0) {
        if_image_free(&tmp);
        if_filter_seterr(err, err_size, "out of memory");
        return -1;
    }
    size_t bytes = (size_t)in->width * in->height * in->bands * in->sample_size;
    int rc = 0;
    if (copy_only) {
        if (bytes) memcpy(tmp.pixels, in->pixels, bytes);
    } else {
        switch (filter->kind) {
        case IF_FK_KERNEL: rc = if_kernel_apply(filter, in, &tmp, err, err_size); break;
        case IF_FK_GAUSSIAN: {
            float br = if_gaussian_box_radius((float)filter->radius);
            rc = if_boxblur_raw(in, &tmp, br, br, 3, err, err_size);
            break;
        }
        case IF_FK_BOX:
            rc = if_boxblur_raw(in, &tmp, (float)filter->radius, (float)filter->radius, 1, err, err_size);
            break;
        case IF_FK_UNSHARP: rc = if_unsharp_apply(filter, in, &tmp, err, err_size); break;
        case IF_FK_RANK: rc = if_rank_apply(filter, in, &tmp, err, err_size); break;
        case IF_FK_MODE: rc = if_mode_apply(filter, in, &tmp, err, err_size); break;
        }
    }
    if (rc < 0) {
        if_image_free(&tmp);
        return -1;
    }
    *out = tmp;
    return 0;
}
