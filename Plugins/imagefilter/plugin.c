/*
 * The imagefilter plugin: the seed's apply_filter(image_path, filter_type)
 * and its fuller sibling, over Pillow-exact filters and codecs.
 */
#include <taskhost/plugin.h>

#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "if_codec.h"
#include "if_filter.h"
#include "if_pipeline.h"

#define ERROR_SIZE 2048

/* <folder>/filtered_<basename>, with the extension of the chosen format. */
static char *output_path(const char *input, const char *folder, const char *format) {
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    char stem[PATH_MAX];
    snprintf(stem, sizeof stem, "%s", base);
    const char *extension = NULL;
    if (strcmp(format, "png") == 0) extension = ".png";
    else if (strcmp(format, "jpeg") == 0) extension = ".jpg";
    if (extension) {
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem) *dot = 0;
    }
    size_t n = strlen(folder) + strlen(stem) + 32;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s%sfiltered_%s%s", folder, folder[0] && folder[strlen(folder) - 1] != '/' ? "/" : "",
                       stem, extension ? extension : "");
    return path;
}

/* Decode, filter, encode, write atomically; the seed's line on success. */
static char *filter_file(th_context *ctx, const char *path, const char *spec, const char *folder, const char *format,
                         int32_t quality, int64_t max_pixels) {
    char err[ERROR_SIZE];
    if (strcmp(format, "same") != 0 && strcmp(format, "png") != 0 && strcmp(format, "jpeg") != 0) {
        th_set_errorf(ctx, "%s: unknown output format '%s' (same, png or jpeg)", path, format);
        return NULL;
    }
    if (quality < 0 || quality > 95) {
        th_set_errorf(ctx, "%s: JPEG quality must be 1 to 95, got %d", path, quality);
        return NULL;
    }
    if_filter *filter = if_filter_parse(spec, err, sizeof err);
    if (!filter) {
        th_set_errorf(ctx, "%s: %s", path, err);
        return NULL;
    }
    if_bytes bytes = {0};
    char *result = NULL;
    uint8_t *data;
    size_t size;
    int rc = if_read_file(path, &data, &size, err, sizeof err);
    if (rc == 0) {
        rc = if_filter_bytes(filter, path, data, size, format, quality, max_pixels, &bytes, err, sizeof err);
        free(data);
    }
    if (rc != 0) {
        th_set_error(ctx, err);
    } else {
        char *target = output_path(path, folder, format);
        if (!target) {
            th_set_errorf(ctx, "%s: out of memory", path);
        } else if (if_write_atomically(target, &bytes, path, err, sizeof err) != 0) {
            th_set_error(ctx, err);
            free(target);
        } else {
            printf("Filtered image saved: %s\n", target);
            fflush(stdout);
            result = target;
        }
    }
    if_bytes_free(&bytes);
    if_filter_free(filter);
    return result;
}

/* The seed's function: output/filtered_<basename>, in the input's format. */
static char *apply_filter(th_context *ctx, const char *image_path, const char *filter_type) {
    return filter_file(ctx, image_path, filter_type, "output", "same", 0, 0);
}

static char *filter_image(th_context *ctx, const char *path, const char *filter, const char *output_dir,
                          const char *format, int32_t quality, int64_t max_pixels) {
    return filter_file(ctx, path, filter, output_dir, format, quality, max_pixels);
}

static char *check_filter(th_context *ctx, const char *spec) {
    char err[ERROR_SIZE];
    if_filter *filter = if_filter_parse(spec, err, sizeof err);
    if (!filter) {
        th_set_error(ctx, err);
        return NULL;
    }
    char *name = strdup(if_filter_name(filter));
    if_filter_free(filter);
    return name;
}

static char *make_sample(th_context *ctx, const char *path, int32_t width, int32_t height, int64_t seed) {
    char err[ERROR_SIZE];
    if (width <= 0 || height <= 0) {
        th_set_errorf(ctx, "sample size must be positive, got %dx%d", width, height);
        return NULL;
    }
    if (if_make_sample(path, (uint32_t)width, (uint32_t)height, (uint64_t)seed, err, sizeof err) != 0) {
        th_set_errorf(ctx, "%s: %s", path, err);
        return NULL;
    }
    return strdup(path);
}

/* Decode and encode only, for measuring what the filter adds. */
static char *transcode(th_context *ctx, const char *path, const char *output_dir) {
    char err[ERROR_SIZE];
    if_image image;
    if_format format;
    if (if_decode_file(path, 0, &image, &format, err, sizeof err) != 0) {
        th_set_error(ctx, err);
        return NULL;
    }
    if_bytes bytes = {0};
    int rc = format == IF_FORMAT_PNG ? if_encode_png(&image, &bytes, err, sizeof err)
                                     : if_encode_jpeg(&image, 0, &bytes, err, sizeof err);
    char *target = output_path(path, output_dir, "same");
    if (rc == 0 && target && if_write_atomically(target, &bytes, path, err, sizeof err) == 0) {
        if_bytes_free(&bytes);
        if_image_free(&image);
        return target;
    }
    th_set_errorf(ctx, "%s: %s", path, rc == 0 && target ? err : "encoding failed");
    free(target);
    if_bytes_free(&bytes);
    if_image_free(&image);
    return NULL;
}

/* Megapixels per second of one filter alone, on one core: one untimed round
 * first (the output's pages faulted in, the code and tables warm), then at
 * least `rounds` timed rounds, and with more than one, at least
 * SPEED_SECONDS of them, so a fast filter is timed as long as a slow one.
 * bench/python_baseline.py times Pillow the same way. */
#define SPEED_SECONDS 0.5
static double monotonic_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double filter_speed(th_context *ctx, const char *path, const char *spec, int32_t rounds) {
    char err[ERROR_SIZE];
    if_filter *filter = if_filter_parse(spec, err, sizeof err);
    if (!filter) {
        th_set_error(ctx, err);
        return 0;
    }
    if_image image, output;
    if_format format;
    if (if_decode_file(path, 0, &image, &format, err, sizeof err) != 0) {
        th_set_error(ctx, err);
        if_filter_free(filter);
        return 0;
    }
    int least = rounds > 0 ? rounds : 1, n = -1; /* round -1 is the untimed one */
    double start = 0, seconds = 0;
    while (n < least || (least > 1 && seconds < SPEED_SECONDS)) {
        if (if_filter_apply(filter, &image, &output, err, sizeof err) != 0) {
            th_set_error(ctx, err);
            break;
        }
        if_image_free(&output);
        if (++n == 0) start = monotonic_seconds();
        else seconds = monotonic_seconds() - start;
    }
    double megapixels = (double)image.width * image.height * n / 1e6;
    if_image_free(&image);
    if_filter_free(filter);
    return megapixels / seconds;
}

static const th_param apply_params[] = {{"image_path", TH_STRING}, {"filter_type", TH_STRING}};
static const th_param filter_params[] = {{"path", TH_STRING},     {"filter", TH_STRING},  {"output_dir", TH_STRING},
                                         {"format", TH_STRING},   {"quality", TH_INT32}, {"max_pixels", TH_INT64}};
static const th_param check_params[] = {{"filter", TH_STRING}};
static const th_param sample_params[] = {
    {"path", TH_STRING}, {"width", TH_INT32}, {"height", TH_INT32}, {"seed", TH_INT64}};
static const th_param transcode_params[] = {{"path", TH_STRING}, {"output_dir", TH_STRING}};
static const th_param speed_params[] = {{"path", TH_STRING}, {"filter", TH_STRING}, {"rounds", TH_INT32}};

static const th_task tasks[] = {
    {.name = "apply_filter", .summary = "the seed's function: writes output/filtered_<name>, returns its path",
     .function = TH_FN(apply_filter), .result = TH_STRING, .params = apply_params, .param_count = 2,
     .flags = TH_TASK_CONTEXT},
    {.name = "filter_image",
     .summary = "filters into output_dir (format same|png|jpeg, quality 0 = 75, max_pixels 0 = Pillow's limit)",
     .function = TH_FN(filter_image), .result = TH_STRING, .params = filter_params, .param_count = 6,
     .flags = TH_TASK_CONTEXT},
    {.name = "check_filter", .summary = "the filter's canonical name, or why it is not a filter",
     .function = TH_FN(check_filter), .result = TH_STRING, .params = check_params, .param_count = 1,
     .flags = TH_TASK_CONTEXT},
    {.name = "make_sample", .summary = "writes a photo-like sample image (.jpg or .png)", .function = TH_FN(make_sample),
     .result = TH_STRING, .params = sample_params, .param_count = 4, .flags = TH_TASK_CONTEXT},
    {.name = "transcode", .summary = "decodes and re-encodes only (to measure the codecs alone)",
     .function = TH_FN(transcode), .result = TH_STRING, .params = transcode_params, .param_count = 2,
     .flags = TH_TASK_CONTEXT},
    {.name = "filter_speed", .summary = "Mpx/s of one filter alone on one decoded image (a warm-up, then >= rounds, >= 0.5 s if rounds > 1)",
     .function = TH_FN(filter_speed), .result = TH_DOUBLE, .params = speed_params, .param_count = 3,
     .flags = TH_TASK_CONTEXT},
};
/* Once per worker: keep freed image buffers in the heap instead of returning
 * them to the kernel, so the next image reuses warm pages rather than faulting
 * in fresh zeroed ones (a 1920x1080 image is 6 MB, over malloc's mmap threshold). */
static int worker_init(th_context *ctx) {
    (void)ctx;
    mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    return 0;
}

TH_EXPORT_PLUGIN_WITH_HOOKS("imagefilter", "1.0.0", "Pillow's ImageFilter family over JPEG and PNG, pixel-identical",
                            tasks, worker_init, NULL)
