/*
 * cluster_pool.c — the same calls on a one-machine pool and on a cluster
 * pool, as a user writes them from taskhost.h and cluster.h alone. Built
 * twice by ClusterCAPITests: plain (th_pool_new, linked to libTaskHost.so)
 * and with -DCLUSTER (th_cluster_pool_new, linked to libTaskHostCluster.so,
 * run under mpirun). Both must print the same bytes on stdout; what differs
 * by run (the crashed worker's pid, the host and rank) goes to stderr.
 *
 *     cluster_pool FAULTY_PLUGIN_SO
 */
#include <taskhost/taskhost.h>
#ifdef CLUSTER
#include <taskhost/cluster.h>
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints item `index` of `results`: its value, or its error's kind (and
 * signal) and message; a crash's message (it names the worker's pid, and
 * on a cluster the host and rank) goes to stderr. */
static void print_item(const th_results *results, size_t index) {
    const th_value *value = th_results_value(results, index);
    if (!value) {
        const th_error *error = th_results_error(results, index);
        th_error_kind kind = th_error_kind_of(error);
        const char *signal = th_error_signal(error);
        printf("  %zu: error %s%s%s", index, th_error_kind_name(kind), signal ? " " : "", signal ? signal : "");
        if (kind == TH_ERR_CRASHED) {
            printf("\n");
            fprintf(stderr, "message of item %zu: %s\n", index, th_error_message(error));
        } else {
            printf(": %s\n", th_error_message(error));
        }
        return;
    }
    switch (value->type) {
    case TH_INT64: printf("  %zu: %" PRId64 "\n", index, value->as.i64); break;
    case TH_STRING: printf("  %zu: \"%.*s\"\n", index, (int)value->as.bytes.length, (const char *)value->as.bytes.data); break;
    default: printf("  %zu: a value of type %d\n", index, (int)value->type); break;
    }
}

/* Prints what a call returned: each item, or the call's own error. */
static void print_call(const char *title, int status, th_results *results, th_error *error) {
    printf("%s:\n", title);
    if (status != 0) {
        printf("  the call failed: %s: %s\n", th_error_kind_name(th_error_kind_of(error)), th_error_message(error));
    } else {
        for (size_t i = 0; i < th_results_count(results); i++) print_item(results, i);
        printf("  %zu failed\n", th_results_error_count(results));
    }
    th_results_free(results);
    th_error_free(error);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: cluster_pool FAULTY_PLUGIN_SO\n");
        return 2;
    }
    th_error *error = NULL;
    th_host_options host_options;
    th_host_options_init(&host_options);
    const char *files[] = {argv[1]};
    host_options.plugin_files = files;
    host_options.plugin_file_count = 1;
    th_host *host = th_host_new(&host_options, &error); /* before the pool: the fork server starts before MPI */
    if (!host) {
        fprintf(stderr, "th_host_new: %s\n", th_error_message(error));
        th_error_free(error);
        return 1;
    }
    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 2;
    th_pool *pool = NULL;
#ifdef CLUSTER
    if (th_cluster_pool_new(host, &options, &pool, &error) != 0) {
        fprintf(stderr, "th_cluster_pool_new: %s: %s\n", th_error_kind_name(th_error_kind_of(error)), th_error_message(error));
        th_error_free(error);
        th_host_free(host);
        return 1;
    }
    if (!pool) { /* a worker rank: rank 0 has closed the pool */
        fprintf(stderr, "a worker rank is done\n");
        th_host_free(host);
        return 0;
    }
#else
    pool = th_pool_new(host, &options, &error);
    if (!pool) {
        fprintf(stderr, "th_pool_new: %s\n", th_error_message(error));
        th_error_free(error);
        th_host_free(host);
        return 1;
    }
#endif
    th_results *results = NULL;

    enum { SQUARES = 1000, ROWS = 60, CRASHES = 40 };
    th_value numbers[SQUARES];
    for (int i = 0; i < SQUARES; i++) numbers[i] = th_int64(i + 1);
    int status = th_pool_map(pool, "square.square", numbers, SQUARES, &results, &error);
    print_call("map square.square over 1 ... 1000", status, results, error);

    /* text.repeat("ab", n): a negative n is the task's own error. */
    th_value rows[ROWS * 2];
    for (int i = 0; i < ROWS; i++) {
        rows[2 * i] = th_string("ab");
        rows[2 * i + 1] = th_int64(i % 11 == 7 ? -1 : i % 5);
    }
    results = NULL, error = NULL;
    status = th_pool_starmap(pool, "text.repeat", rows, ROWS, 2, &results, &error);
    print_call("starmap text.repeat", status, results, error);

    th_value seed = th_string("seed");
    results = NULL, error = NULL;
    status = th_pool_apply(pool, "text.upper", &seed, 1, &results, &error);
    print_call("apply text.upper(\"seed\")", status, results, error);

    /* A value that doesn't convert fails its own item. */
    th_value mixed[4] = {th_int64(2), th_string("three"), th_int64(4), th_double(1.5)};
    results = NULL, error = NULL;
    status = th_pool_map(pool, "square.square", mixed, 4, &results, &error);
    print_call("map square.square over 2, \"three\", 4, 1.5", status, results, error);

    /* faulty.segv crashes its worker on 3 and multiples of 97: that item alone fails. */
    th_value faults[CRASHES];
    for (int i = 0; i < CRASHES; i++) faults[i] = th_int64(i + 1);
    results = NULL, error = NULL;
    status = th_pool_map(pool, "faulty.segv", faults, CRASHES, &results, &error);
    print_call("map faulty.segv over 1 ... 40", status, results, error);

    th_value three = th_int64(3);
    results = NULL, error = NULL;
    status = th_pool_apply(pool, "faulty.segv", &three, 1, &results, &error);
    print_call("apply faulty.segv(3)", status, results, error);

    results = NULL, error = NULL;
    status = th_pool_map(pool, "no.such", numbers, 3, &results, &error);
    print_call("map no.such", status, results, error);

    th_pool_close(pool);
    th_pool_join(pool);
    results = NULL, error = NULL;
    status = th_pool_map(pool, "square.square", numbers, 3, &results, &error);
    print_call("map after close", status, results, error);
    th_pool_free(pool);
    th_host_free(host);
    return 0;
}
