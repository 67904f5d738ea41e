/* Kernel filters a row at a time, for pipelines that never hold the whole image (if_jpeg_stream): the rows
   of if_kernel_apply's output, through the same plan (filter_kernel.h). */
#pragma STDC FP_CONTRACT OFF /* a * b + c rounds twice, as in Pillow: never fused into an FMA */
#define IF_FILTER_INTERNAL 1
#include "if_filter.h"
#include "filter_kernel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct if_row_filter {
    kernel_plan plan;
    uint32_t width, height, bands;
    size_t rowlen;
    /* Float path: ring[slot] holds image row tag[slot] as binary32 (each row converted once). */
    float *ring;
    int64_t tag[5];
};

if_row_filter *if_row_filter_new(const if_filter *f, uint32_t width, uint32_t height, if_mode mode) {
    if (!f || f->kind != IF_FK_KERNEL) return NULL;
    if (!((f->kw == 3 || f->kw == 5) && f->kw == f->kh)) return NULL;
    if (width < (uint32_t)f->kw || height < (uint32_t)f->kh) return NULL;
    if (mode == IF_MODE_P || if_mode_sample_size(mode) != 1) return NULL;
    if_row_filter *rf = calloc(1, sizeof *rf);
    if (!rf) return NULL;
    if_kernel_plan_make(f, 1, &rf->plan);
    rf->width = width;
    rf->height = height;
    rf->bands = if_mode_bands(mode);
    rf->rowlen = (size_t)width * rf->bands;
    if (!rf->plan.is_dyadic && !rf->plan.is_rational) {
        rf->ring = malloc(sizeof(float) * rf->rowlen * (size_t)rf->plan.n);
        if (!rf->ring) {
            free(rf);
            return NULL;
        }
        for (int i = 0; i < 5; i++) rf->tag[i] = -1;
    }
    return rf;
}

uint32_t if_row_filter_margin(const if_row_filter *rf) { return (uint32_t)rf->plan.h; }

void if_row_filter_row(if_row_filter *rf, uint32_t y, const uint8_t *const *rows, uint8_t *out) {
    const kernel_plan *plan = &rf->plan;
    const uint32_t h = (uint32_t)plan->h;
    const size_t rowlen = rf->rowlen, B = rf->bands, edge = (size_t)h * B;
    const uint8_t *centre = rows[h];
    /* As if_kernel_apply: the h top and bottom rows and the h left and right columns are the input's. */
    if (y < h || y + h >= rf->height) {
        memcpy(out, centre, rowlen);
        return;
    }
    memcpy(out, centre, edge);
    memcpy(out + rowlen - edge, centre + rowlen - edge, edge);
    const size_t lo = edge, hi = rowlen - edge;
    const int n = plan->n;
    if (plan->is_dyadic || plan->is_rational) {
        const uint8_t *r8[5];
        for (int r = 0; r < n; r++) r8[r] = rows[2 * h - (uint32_t)r]; /* kernel row r meets image row y+h-r */
        if_kernel_int_row(plan, r8, B, lo, hi, out);
        return;
    }
    const float *rf32[5];
    for (int r = 0; r < n; r++) {
        const int64_t image_row = (int64_t)y + h - (uint32_t)r;
        const int slot = (int)(image_row % n);
        float *dst = rf->ring + rowlen * (size_t)slot;
        if (rf->tag[slot] != image_row) {
            const uint8_t *s = rows[2 * h - (uint32_t)r];
            for (size_t i = 0; i < rowlen; i++) dst[i] = (float)s[i];
            rf->tag[slot] = image_row;
        }
        rf32[r] = dst;
    }
    plan->krow(rf32, plan->k, plan->off, B, lo, hi, out, NULL);
}

void if_row_filter_free(if_row_filter *rf) {
    if (!rf) return;
    free(rf->ring);
    free(rf);
}
