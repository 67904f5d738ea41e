/*
 * embedding.c — the C API end to end, as a user outside the repository
 * would write it from taskhost.h alone. Built and run by EmbeddingTests
 * (also under valgrind): prints "ok <check>" per check, "FAIL ..." for a
 * failed one, and exits 1 if any failed.
 *
 *     embedding FAULTY_PLUGIN_SO TYPES_PLUGIN_SO
 */
#define _POSIX_C_SOURCE 200809L
#include <taskhost/taskhost.h>

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

static int failures = 0;

static void check(int condition, const char *name, const char *detail) {
    if (condition) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s%s%s\n", name, detail ? ": " : "", detail ? detail : "");
        failures++;
    }
    fflush(stdout);
}

/* Frees an error the caller owns, printing it if unexpected. */
static void drop(th_error *error) {
    if (error) fprintf(stderr, "error: %s: %s\n", th_error_kind_name(th_error_kind_of(error)), th_error_message(error));
    th_error_free(error);
}

static th_value *range(int64_t first, size_t count) {
    th_value *values = malloc(count * sizeof *values);
    for (size_t i = 0; i < count; i++) values[i] = th_int64(first + (int64_t)i);
    return values;
}

/* The sum of square over first .. first+count-1, or -1 if an item failed. */
static int64_t square_sum(th_pool *pool, int64_t first, size_t count) {
    th_value *values = range(first, count);
    th_results *results = NULL;
    th_error *error = NULL;
    int64_t sum = -1;
    if (th_pool_map(pool, "square", values, count, &results, &error) == 0) {
        sum = 0;
        for (size_t i = 0; i < th_results_count(results); i++) {
            const th_value *v = th_results_value(results, i);
            if (!v || v->type != TH_INT64) { sum = -1; break; }
            sum += v->as.i64;
        }
    } else {
        drop(error);
    }
    th_results_free(results);
    free(values);
    return sum;
}

static int64_t expected_square_sum(int64_t first, size_t count) {
    int64_t sum = 0;
    for (int64_t x = first; x < first + (int64_t)count; x++) sum += x * x;
    return sum;
}

struct worker {
    th_pool *pool;
    int64_t first;
    int ok;
};

static void *map_in_thread(void *argument) {
    struct worker *w = argument;
    w->ok = 1;
    for (int round = 0; round < 5; round++)
        if (square_sum(w->pool, w->first, 1000) != expected_square_sum(w->first, 1000)) w->ok = 0;
    return NULL;
}

static void versions(void) {
    check(strcmp(th_version(), TH_VERSION_STRING) == 0 && strcmp(th_version(), "1.0.0") == 0, "version", th_version());
    check(th_abi_version() == TH_ABI_MAJOR, "abi version", NULL);
    check(strcmp(th_error_kind_name(TH_ERR_CRASHED), "crashed") == 0 &&
              strcmp(th_error_kind_name(TH_ERR_TIMED_OUT), "timedOut") == 0 &&
              strcmp(th_error_kind_name(TH_ERR_SYSTEM), "systemError") == 0 &&
              strcmp(th_error_kind_name(TH_OK), "ok") == 0 && strcmp(th_error_kind_name((th_error_kind)99), "unknown") == 0,
          "kind names", NULL);
}

static void listing(th_host *host) {
    int found = 0;
    for (size_t p = 0; p < th_host_plugin_count(host); p++) {
        const th_plugin_info *plugin = th_host_plugin(host, p);
        for (size_t t = 0; t < plugin->task_count; t++) {
            const th_task_info *task = th_host_task(host, p, t);
            if (strcmp(task->qualified_name, "square.square") == 0 && task->param_count == 1 &&
                task->param_types[0] == TH_INT64 && strcmp(task->param_names[0], "x") == 0 && task->result == TH_INT64 &&
                strcmp(task->signature, "square.square(x: int64) -> int64") == 0 && strcmp(plugin->version, "1.0.0") == 0)
                found = 1;
        }
    }
    check(found, "listing shows square.square(x: int64) -> int64", NULL);
    check(th_host_plugin(host, th_host_plugin_count(host)) == NULL && th_host_task(host, 0, 100000) == NULL,
          "listing out of range is NULL", NULL);
    const th_task_info *segv = th_host_find_task(host, "segv", NULL);
    check(segv && strcmp(segv->qualified_name, "faulty.segv") == 0, "find task by bare name", NULL);
    th_error *error = NULL;
    check(th_host_find_task(host, "squar", &error) == NULL && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT &&
              strstr(th_error_message(error), "did you mean 'square'") != NULL,
          "find unknown task says did you mean", th_error_message(error));
    th_error_free(error);
}

static void pool_calls(th_pool *pool) {
    check(square_sum(pool, 1, 1000) == 333833500, "map square over 1...1000 on 2 workers", NULL);

    /* A crashing item is a per-item error; the others keep their results. */
    th_value *values = range(1, 5);
    th_results *results = NULL;
    th_error *error = NULL;
    int status = th_pool_map(pool, "faulty.segv", values, 5, &results, &error);
    const th_error *crash = status == 0 ? th_results_error(results, 2) : NULL;
    int code = 0;
    check(status == 0 && th_results_count(results) == 5 && th_results_error_count(results) == 1 && crash &&
              th_results_value(results, 2) == NULL && th_error_kind_of(crash) == TH_ERR_CRASHED &&
              th_error_signal(crash) && strcmp(th_error_signal(crash), "SIGSEGV") == 0 &&
              strstr(th_error_message(crash), "faulty.segv(3)") != NULL && !th_error_exit_code(crash, &code) &&
              th_results_value(results, 4) && th_results_value(results, 4)->as.i64 == 5 &&
              th_results_error(results, 4) == NULL,
          "a crash is a per-item error with kind crashed and SIGSEGV", crash ? th_error_message(crash) : NULL);
    th_results_free(results);
    drop(error);
    error = NULL;

    /* An exit is a per-item error with its code; a task error with its message. */
    results = NULL;
    status = th_pool_map(pool, "faulty.exit", values, 3, &results, &error);
    crash = status == 0 ? th_results_error(results, 2) : NULL;
    check(crash && th_error_kind_of(crash) == TH_ERR_EXITED && th_error_exit_code(crash, &code) && code == 7 &&
              th_error_signal(crash) == NULL,
          "an exit is a per-item error with its code", NULL);
    th_results_free(results);
    results = NULL;
    status = th_pool_map(pool, "faulty.fail", values, 3, &results, &error);
    crash = status == 0 ? th_results_error(results, 2) : NULL;
    check(crash && th_error_kind_of(crash) == TH_ERR_TASK_ERROR, "a task error is a per-item error", NULL);
    th_results_free(results);
    free(values);
    drop(error);
    error = NULL;

    /* Strings and bytes, in and out; apply gives one item. */
    th_value word = th_string("seed");
    results = NULL;
    status = th_pool_apply(pool, "text.upper", &word, 1, &results, &error);
    const th_value *upper = status == 0 ? th_results_value(results, 0) : NULL;
    check(upper && upper->type == TH_STRING && upper->as.bytes.length == 4 &&
              strcmp((const char *)upper->as.bytes.data, "SEED") == 0 && th_results_count(results) == 1,
          "apply text.upper(\"seed\") is \"SEED\"", NULL);
    th_results_free(results);
    th_value rows[4] = {th_string("ab"), th_int32(3), th_string(""), th_int64(2)};
    results = NULL;
    status = th_pool_starmap(pool, "text.repeat", rows, 2, 2, &results, &error);
    const th_value *first = status == 0 ? th_results_value(results, 0) : NULL;
    const th_value *second = status == 0 ? th_results_value(results, 1) : NULL;
    check(first && strcmp((const char *)first->as.bytes.data, "ababab") == 0 && second &&
              second->type == TH_STRING && second->as.bytes.length == 0 && ((const char *)second->as.bytes.data)[0] == 0,
          "starmap text.repeat with an int64 for an int32", NULL);
    th_results_free(results);
    drop(error);
    error = NULL;

    /* apply of a crashing call: the call succeeds, its one item failed. */
    th_value three = th_int64(3);
    results = NULL;
    status = th_pool_apply(pool, "faulty.abort", &three, 1, &results, &error);
    crash = status == 0 ? th_results_error(results, 0) : NULL;
    check(crash && th_error_kind_of(crash) == TH_ERR_CRASHED && strcmp(th_error_signal(crash), "SIGABRT") == 0 &&
              th_results_value(results, 0) == NULL,
          "apply of a crash returns 0 and the item's error", NULL);
    th_results_free(results);
    drop(error);
    error = NULL;

    /* A value of the wrong type fails its own item. */
    th_value mixed[2] = {th_int64(4), th_string("four")};
    results = NULL;
    status = th_pool_map(pool, "square", mixed, 2, &results, &error);
    crash = status == 0 ? th_results_error(results, 1) : NULL;
    check(crash && th_error_kind_of(crash) == TH_ERR_INVALID_ARGUMENT && th_results_value(results, 0)->as.i64 == 16,
          "a value of the wrong type fails its item", NULL);
    th_results_free(results);
    drop(error);
    error = NULL;

    /* Call-level errors: -1 and an error; *out untouched. */
    results = NULL;
    status = th_pool_map(pool, "nosuch", &three, 1, &results, &error);
    check(status == -1 && results == NULL && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT &&
              strstr(th_error_message(error), "unknown task 'nosuch'") != NULL,
          "an unknown task fails the call", th_error_message(error));
    th_error_free(error);
    error = NULL;
    status = th_pool_starmap(pool, "text.repeat", rows, 2, 3, &results, &error);
    check(status == -1 && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT, "a wrong arity fails the call",
          th_error_message(error));
    th_error_free(error);
    error = NULL;
    th_value nothing;
    memset(&nothing, 0, sizeof nothing);
    status = th_pool_map(pool, "square", &nothing, 1, &results, &error);
    check(status == -1 && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT, "a TH_VOID argument fails the call",
          th_error_message(error));
    th_error_free(error);
    status = th_pool_map(NULL, "square", &three, 1, &results, NULL);
    check(status == -1 && results == NULL, "a NULL pool fails the call", NULL);
    status = th_pool_map(pool, "square", NULL, 0, &results, NULL);
    check(status == 0 && th_results_count(results) == 0, "an empty map", NULL);
    th_results_free(results);
}

static void timeouts(th_host *host) {
    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 2;
    options.task_timeout = 0.5;
    th_error *error = NULL;
    th_pool *pool = th_pool_new(host, &options, &error);
    th_value *values = range(1, 4);
    th_results *results = NULL;
    int status = pool ? th_pool_map(pool, "faulty.hang", values, 4, &results, &error) : -1;
    const th_error *hung = status == 0 ? th_results_error(results, 2) : NULL;
    check(hung && th_error_kind_of(hung) == TH_ERR_TIMED_OUT && th_results_error_count(results) == 1,
          "a hanging item times out", NULL);
    th_results_free(results);
    free(values);
    th_pool_free(pool); /* without close: terminates */
    drop(error);
}

/* th_pool_new refuses `options` as invalidArgument, its message containing `needle` (if any). */
static void expect_pool_refused(th_host *host, const th_pool_options *options, const char *needle, const char *name) {
    th_error *error = NULL;
    th_pool *pool = th_pool_new(host, options, &error);
    check(pool == NULL && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT &&
              (needle == NULL || strstr(th_error_message(error), needle) != NULL),
          name, th_error_message(error));
    th_pool_free(pool);
    th_error_free(error);
}

static void options_checks(th_host *host) {
    /* A caller built against an older header: a smaller size, defaults for the rest. */
    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 1;
    options.size = offsetof(th_pool_options, retries) + sizeof options.retries;
    options.deadline = -1; /* beyond the old size: ignored */
    th_error *error = NULL;
    th_pool *pool = th_pool_new(host, &options, &error);
    check(pool != NULL && square_sum(pool, 1, 10) == 385, "options of an older, smaller size", NULL);
    th_pool_close(pool);
    th_pool_join(pool);
    th_value three = th_int64(3);
    th_results *results = NULL;
    int status = th_pool_map(pool, "square", &three, 1, &results, &error);
    check(status == -1 && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT, "a closed pool refuses calls",
          th_error_message(error));
    th_error_free(error);
    error = NULL;
    th_pool_free(pool);

    options.size = 0;
    expect_pool_refused(host, &options, NULL, "options without size are refused");

    th_pool_options_init(&options);
    options.task_timeout = -1;
    expect_pool_refused(host, &options, NULL, "a negative timeout is refused");

    th_host_options host_options;
    th_host_options_init(&host_options);
    const char *missing[] = {"/nonexistent/plugin.so"};
    host_options.plugin_files = missing;
    host_options.plugin_file_count = 1;
    check(th_host_new(&host_options, &error) == NULL && th_error_kind_of(error) == TH_ERR_PLUGIN &&
              strstr(th_error_message(error), "/nonexistent/plugin.so") != NULL,
          "a missing plugin file fails the host", th_error_message(error));
    th_error_free(error);
}

static void processes(th_host *host) {
    th_error *error = NULL;
    th_process *p = th_process_new(host, "print_numbers", NULL, 0, &error);
    int code = 99;
    check(p && !th_process_is_alive(p) && th_process_join(p, 0.01) == 0 && th_process_exit_code(p, &code) == 0,
          "a new process is not started", NULL);
    fflush(stdout); /* the task writes to our stdout: print nothing until it has ended */
    int started = th_process_start(p, &error) == 0;
    int twice = th_process_start(p, &error) == -1 && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT;
    int joined = th_process_join(p, -1);
    check(started, "process start", NULL);
    check(twice, "starting twice is refused", NULL);
    th_error_free(error);
    error = NULL;
    const th_value *value = NULL;
    const th_error *failure = NULL;
    check(joined == 1 && th_process_exit_code(p, &code) == 1 && code == 0 && th_process_pid(p) > 0 &&
              !th_process_is_alive(p) && th_process_result(p, &value, &failure) == 1 && value &&
              value->type == TH_VOID && failure == NULL,
          "process print_numbers exits 0", NULL);
    th_process_free(p);

    th_value three = th_int64(3);
    p = th_process_new(host, "faulty.segv", &three, 1, &error);
    th_process_start(p, NULL);
    th_process_join(p, -1);
    check(th_process_exit_code(p, &code) == 1 && code == -11 && th_process_result(p, &value, &failure) == 1 &&
              value == NULL && failure && th_error_kind_of(failure) == TH_ERR_CRASHED,
          "a crashing process's exit code is -11", NULL);
    th_process_free(p);

    p = th_process_new(host, "faulty.hang", &three, 1, &error);
    th_process_start(p, NULL);
    check(th_process_join(p, 0.2) == 0 && th_process_is_alive(p) && th_process_result(p, &value, &failure) == 0,
          "join with a timeout returns 0 while it runs", NULL);
    th_process_terminate(p);
    check(th_process_join(p, 10) == 1 && th_process_exit_code(p, &code) == 1 && code == -9,
          "a terminated process's exit code is -9", NULL);
    th_process_free(p);

    p = th_process_new(host, "faulty.hang", &three, 1, &error);
    th_process_start(p, NULL);
    th_process_free(p); /* still running: terminated */

    check(th_process_new(host, "square", NULL, 0, &error) == NULL && th_error_kind_of(error) == TH_ERR_INVALID_ARGUMENT,
          "a process with the wrong arity is refused", th_error_message(error));
    th_error_free(error);
}

/* Argument conversion as taskhost.h documents it, through the types plugin. */
static void conversions(th_pool *pool) {
    struct { const char *task; th_value argument; int converts; double expected; const char *name; } cases[] = {
        {"types.half", {.type = TH_INT64, .as.i64 = INT64_C(9007199254740992)}, 1, 4503599627370496.0,
         "int64 2^53 for a double: exact, accepted"},
        {"types.half", {.type = TH_INT64, .as.i64 = INT64_C(9007199254740993)}, 0, 0,
         "int64 2^53+1 for a double: not exact, invalidArgument"},
        {"types.half", {.type = TH_INT64, .as.i64 = -INT64_C(9007199254740993)}, 0, 0,
         "int64 -(2^53+1) for a double: not exact, invalidArgument"},
        {"types.half", {.type = TH_INT64, .as.i64 = INT64_MAX}, 0, 0, "int64 max for a double: invalidArgument"},
        {"types.half", {.type = TH_INT64, .as.i64 = INT64_MIN}, 1, -4611686018427387904.0,
         "int64 min (-2^63) for a double: exact, accepted"},
        {"types.half", {.type = TH_INT32, .as.i32 = -7}, 1, -3.5, "int32 for a double"},
        {"types.negate32", {.type = TH_INT64, .as.i64 = INT32_MAX}, 1, -2147483647.0, "int64 2^31-1 for an int32"},
        {"types.negate32", {.type = TH_INT64, .as.i64 = INT64_C(2147483648)}, 0, 0,
         "int64 2^31 for an int32: does not fit, invalidArgument"},
        {"types.halve64", {.type = TH_INT64, .as.i64 = -1}, 0, 0, "int64 -1 for a uint64: invalidArgument"},
        {"types.negate64", {.type = TH_UINT64, .as.u64 = UINT64_C(9223372036854775808)}, 0, 0,
         "uint64 2^63 for an int64: does not fit, invalidArgument"},
        {"types.negate64", {.type = TH_UINT64, .as.u64 = 5}, 1, -5, "uint64 5 for an int64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        th_results *results = NULL;
        th_error *error = NULL;
        int status = th_pool_apply(pool, cases[i].task, &cases[i].argument, 1, &results, &error);
        const th_value *value = status == 0 ? th_results_value(results, 0) : NULL;
        const th_error *failure = status == 0 ? th_results_error(results, 0) : NULL;
        int ok;
        if (cases[i].converts) {
            double got = !value                     ? -1
                         : value->type == TH_DOUBLE ? value->as.f64
                         : value->type == TH_INT32  ? (double)value->as.i32
                                                    : (double)value->as.i64;
            ok = value && got == cases[i].expected;
        } else {
            ok = failure && th_error_kind_of(failure) == TH_ERR_INVALID_ARGUMENT;
        }
        check(ok, cases[i].name, failure ? th_error_message(failure) : error ? th_error_message(error) : NULL);
        th_results_free(results);
        drop(error);
    }
}

/* A pool and a process keep their host alive. */
static void lifetimes(const char *faulty) {
    th_host_options host_options;
    th_host_options_init(&host_options);
    host_options.plugin_files = &faulty;
    host_options.plugin_file_count = 1;
    th_error *error = NULL;
    th_host *host = th_host_new(&host_options, &error);
    th_pool *pool = th_pool_new(host, NULL, &error);
    th_value three = th_int64(3);
    th_process *process = th_process_new(host, "square", &three, 1, &error);
    th_host_free(host);
    th_results *results = NULL;
    int status = th_pool_apply(pool, "square", &three, 1, &results, &error);
    const th_value *value = NULL;
    th_process_start(process, NULL);
    th_process_join(process, -1);
    th_process_result(process, &value, NULL);
    check(status == 0 && th_results_value(results, 0)->as.i64 == 9 && value && value->as.i64 == 9,
          "a pool and a process outlive th_host_free", NULL);
    th_results_free(results);
    th_process_free(process);
    th_pool_free(pool);
    th_pool_free(NULL);
    th_host_free(NULL);
    th_results_free(NULL);
    th_error_free(NULL);
    th_process_free(NULL);
    drop(error);
}

/* Numbers the C API refuses before anything starts, and infinity as "none". */
static void limits(th_host *host) {
    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 100000;
    expect_pool_refused(host, &options, "100000 processes", "100000 processes are refused before anything starts");
    th_pool_options_init(&options);
    options.processes = SIZE_MAX;
    expect_pool_refused(host, &options, "18446744073709551615", "SIZE_MAX processes are refused as SIZE_MAX");
    th_pool_options_init(&options);
    options.task_timeout = NAN;
    expect_pool_refused(host, &options, NULL, "a NaN task timeout is refused");
    th_pool_options_init(&options);
    options.processes = 1;
    options.deadline = INFINITY;
    options.task_timeout = INFINITY;
    th_error *error = NULL;
    th_pool *pool = th_pool_new(host, &options, &error);
    check(pool && square_sum(pool, 1, 10) == 385, "an infinite deadline and timeout are none", th_error_message(error));
    th_error_free(error);
    th_pool_free(pool);
}

static int open_descriptors(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int count = 0;
    while (readdir(dir)) count++;
    closedir(dir);
    return count;
}

/* Hosts and pools freed as the header's example frees them (no close, no join), many times. */
static void lifecycles(const char *faulty) {
    const char *env = getenv("EMBEDDING_LIFECYCLES");
    int rounds = env ? atoi(env) : 100;
    int before = open_descriptors();
    int worked = 1;
    for (int i = 0; i < rounds; i++) {
        th_host_options host_options;
        th_host_options_init(&host_options);
        host_options.plugin_files = &faulty;
        host_options.plugin_file_count = 1;
        th_error *error = NULL;
        th_host *host = th_host_new(&host_options, &error);
        th_pool_options options;
        th_pool_options_init(&options);
        options.processes = 2;
        th_pool *pool = host ? th_pool_new(host, &options, &error) : NULL;
        if (!pool || square_sum(pool, 1, 4) != 30) worked = 0;
        th_error_free(error);
        th_pool_free(pool);
        th_host_free(host);
    }
    /* A pool freed without close or join ends its workers and closes its
     * descriptors on its own thread, after th_pool_free returns: give the last
     * one up to 5 s (a leak stays above `before` however long we wait). */
    int after = open_descriptors();
    for (int wait = 0; wait < 500 && after > before; wait++) {
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
        after = open_descriptors();
    }
    char detail[64];
    snprintf(detail, sizeof detail, "%d descriptors before, %d after", before, after);
    check(worked && after <= before, "host lifecycles freed without close or join leave descriptors flat", detail);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: embedding FAULTY_PLUGIN_SO TYPES_PLUGIN_SO\n");
        return 2;
    }
    versions();

    th_host_options host_options;
    th_host_options_init(&host_options);
    const char *files[] = {argv[1], argv[2]};
    host_options.plugin_files = files;
    host_options.plugin_file_count = 2;
    host_options.plugin_path = "";
    th_error *error = NULL;
    th_host *host = th_host_new(&host_options, &error);
    if (!host) {
        printf("FAIL host: %s\n", th_error_message(error));
        th_error_free(error);
        return 1;
    }
    listing(host);

    th_pool_options options;
    th_pool_options_init(&options);
    options.processes = 2;
    th_pool *pool = th_pool_new(host, &options, &error);
    if (!pool) {
        printf("FAIL pool: %s\n", th_error_message(error));
        th_error_free(error);
        return 1;
    }
    pool_calls(pool);
    conversions(pool);

    /* Two threads mapping at once on one pool. */
    struct worker workers[2] = {{pool, 1, 0}, {pool, 5001, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, map_in_thread, &workers[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    check(workers[0].ok && workers[1].ok, "two threads map on one pool at once", NULL);

    th_pool_close(pool);
    th_pool_join(pool);
    th_pool_free(pool);

    timeouts(host);
    options_checks(host);
    limits(host);
    processes(host);

    th_host_free(host);
    lifetimes(argv[1]);
    lifecycles(argv[1]);
    printf(failures ? "%d failed\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
