/*
 * embed.c — the seed's two pool programs, from C, through libTaskHost.
 *
 *   1. Pool().map(square, [1, 2, 3, 4, 5])  → prints [1, 4, 9, 16, 25]
 *   2. Pool().starmap(filter, [(image, "CONTOUR") for image in argv]) with the
 *      imagefilter plugin, when it is loaded (skipped with a line otherwise):
 *      the filtered images go to the folder given with -o (default: output).
 *
 * Build and run from the repository, after `swift build`:
 *
 *     cc -std=c11 -Wall -Wextra -I include Examples/embed.c -o embed \
 *        -L .build/debug -Wl,-rpath,$PWD/.build/debug -lTaskHost
 *     ./embed [-o FOLDER] [IMAGE ...]
 *
 * Written only against include/taskhost/taskhost.h. Exit status: 0, 1 if an
 * item failed, 2 if a call failed.
 */
#include <taskhost/taskhost.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Prints an error the caller owns and frees it. */
static int fail(const char *what, th_error *error) {
    fprintf(stderr, "embed: %s: %s (%s)\n", what, th_error_message(error),
            th_error_kind_name(th_error_kind_of(error)));
    th_error_free(error);
    return 2;
}

/* Prints each failed item of `results` on stderr; returns how many failed. */
static size_t report_failures(const th_results *results, char *const *names) {
    for (size_t i = 0; i < th_results_count(results); i++) {
        const th_error *error = th_results_error(results, i);
        if (!error) continue;
        fprintf(stderr, "embed: %s failed (%s", names ? names[i] : "item",
                th_error_kind_name(th_error_kind_of(error)));
        if (th_error_signal(error)) fprintf(stderr, ", %s", th_error_signal(error));
        fprintf(stderr, "): %s\n", th_error_message(error));
    }
    return th_results_error_count(results);
}

/* 1. The seed's square map. */
static int square_program(th_pool *pool) {
    th_value numbers[5];
    for (int i = 0; i < 5; i++) numbers[i] = th_int64(i + 1);

    th_results *results = NULL;
    th_error *error = NULL;
    if (th_pool_map(pool, "square", numbers, 5, &results, &error) != 0) return fail("map square", error);

    printf("[");
    for (size_t i = 0; i < th_results_count(results); i++) {
        const th_value *value = th_results_value(results, i);
        if (i > 0) printf(", ");
        if (value) printf("%lld", (long long)value->as.i64);
        else printf("null");
    }
    printf("]\n");
    fflush(stdout);
    size_t failed = report_failures(results, NULL);
    th_results_free(results);
    return failed ? 1 : 0;
}

/*
 * The image task, if the imagefilter plugin offers one this program knows:
 * filter_image(image, filter, output_folder, format, quality, max_pixels)
 * or apply_filter(image, filter).
 */
static const th_task_info *image_task(const th_host *host) {
    static const th_type filter_image[] = {TH_STRING, TH_STRING, TH_STRING, TH_STRING, TH_INT32, TH_INT64};
    static const th_type apply_filter[] = {TH_STRING, TH_STRING};
    const th_task_info *task = th_host_find_task(host, "imagefilter.filter_image", NULL);
    if (task && task->param_count == 6 && memcmp(task->param_types, filter_image, sizeof filter_image) == 0)
        return task;
    task = th_host_find_task(host, "imagefilter.apply_filter", NULL);
    if (task && task->param_count == 2 && memcmp(task->param_types, apply_filter, sizeof apply_filter) == 0)
        return task;
    return NULL;
}

/* 2. The seed's image program: CONTOUR over every image, in parallel. */
static int image_program(th_host *host, th_pool *pool, char **images, size_t count, const char *output) {
    if (count == 0) return 0;
    const th_task_info *task = image_task(host);
    if (!task) {
        printf("image filter skipped: the imagefilter plugin with filter_image or apply_filter is not loaded\n");
        return 0;
    }
    mkdir(output, 0777); /* an existing folder is fine; filter_image reports other problems */

    size_t arity = task->param_count;
    th_value *rows = calloc(count * arity, sizeof *rows);
    if (!rows) return 2;
    for (size_t i = 0; i < count; i++) {
        th_value *row = rows + i * arity;
        row[0] = th_string(images[i]);
        row[1] = th_string("CONTOUR");
        if (arity == 6) {
            row[2] = th_string(output);
            row[3] = th_string("same"); /* the input's format */
            row[4] = th_int32(75);      /* JPEG quality */
            row[5] = th_int64(0);       /* no pixel limit */
        }
    }
    th_results *results = NULL;
    th_error *error = NULL;
    int status = th_pool_starmap(pool, task->qualified_name, rows, count, arity, &results, &error);
    free(rows);
    if (status != 0) return fail("starmap filter", error);
    printf("Image processing finished\n");
    fflush(stdout);
    size_t failed = report_failures(results, images);
    th_results_free(results);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    const char *output = "output";
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-o") == 0) {
        output = argv[2];
        first = 3;
    }

    th_error *error = NULL;
    th_host *host = th_host_new(NULL, &error); /* the shipped plugins, and TASKHOST_PLUGIN_PATH */
    if (!host) return fail("cannot start the host", error);

    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 2;
    options.task_output_to_stdout = true; /* the tasks' lines belong to the program's output */
    th_pool *pool = th_pool_new(host, &options, &error);
    if (!pool) {
        th_host_free(host);
        return fail("cannot start the pool", error);
    }

    int status = square_program(pool);
    int images = image_program(host, pool, argv + first, (size_t)(argc - first), output);
    if (images > status) status = images;

    th_pool_close(pool);
    th_pool_join(pool);
    th_pool_free(pool);
    th_host_free(host);
    return status;
}
