/*
 * taskhost/taskhost.h — embed TaskHost in a C (or C++, Rust, Go ...) program.
 *
 * One library, libTaskHost.so, gives a program crash-safe parallel execution
 * of task plugins: a host loads the plugins (include/taskhost/plugin.h says
 * how to write one), a pool runs their tasks in forked worker processes with
 * Python's map / starmap / apply, and a process runs one task on its own. A
 * plugin that crashes, exits, hangs or eats memory fails only the item it
 * was running; the call still returns every other item's result. (A pool
 * whose workers span the ranks of an MPI job: taskhost/cluster.h.)
 *
 * Build and link (from the repository, after `swift build`):
 *
 *     cc -I include my.c -L .build/debug -Wl,-rpath,$PWD/.build/debug -lTaskHost
 *
 * or, after `make install PREFIX=/usr/local`:
 *
 *     cc my.c $(pkg-config --cflags --libs taskhost)
 *
 * A complete program:
 *
 *     #include <taskhost/taskhost.h>
 *     #include <stdio.h>
 *
 *     int main(void) {
 *         th_error *error = NULL;
 *         th_host *host = th_host_new(NULL, &error);           // the shipped plugins
 *         if (!host) { fprintf(stderr, "%s\n", th_error_message(error)); th_error_free(error); return 1; }
 *         th_pool_options options;
 *         th_pool_options_init(&options);
 *         options.processes = 2;
 *         th_pool *pool = th_pool_new(host, &options, &error);
 *         if (!pool) { ... }
 *         th_value args[5];
 *         for (int i = 0; i < 5; i++) args[i] = th_int64(i + 1);
 *         th_results *results = NULL;
 *         if (th_pool_map(pool, "square", args, 5, &results, &error) == 0) {
 *             for (size_t i = 0; i < th_results_count(results); i++) {
 *                 const th_value *v = th_results_value(results, i);
 *                 if (v) printf("%lld\n", (long long)v->as.i64);
 *                 else printf("failed: %s\n", th_error_message(th_results_error(results, i)));
 *             }
 *             th_results_free(results);
 *         }
 *         th_pool_free(pool);
 *         th_host_free(host);
 *         return 0;
 *     }
 *
 * CONVENTIONS
 *
 *   Objects. th_host, th_pool, th_process, th_results and th_error are opaque
 *   handles. A function named *_new (or a call that fills `th_results **out`
 *   or `th_error **error`) hands the caller ONE reference, which the caller
 *   releases with the matching *_free. Every *_free accepts NULL. Anything
 *   returned as `const` (strings, th_value, th_error, th_plugin_info ...) is
 *   BORROWED: it belongs to the object it came from, stays valid until that
 *   object is freed, and must not be freed or modified by the caller.
 *
 *   Errors. A function that can fail takes `th_error **error` last. On
 *   failure it returns NULL (constructors) or -1 (calls), and, when `error`
 *   is not NULL, stores a new th_error in *error that the caller frees with
 *   th_error_free. Pass NULL for `error` when the reason doesn't matter. On
 *   success *error is left untouched. A NULL handle or a NULL array with a
 *   non-zero count is an error of kind TH_ERR_INVALID_ARGUMENT, never a crash.
 *
 *   Calls vs items. th_pool_map, th_pool_starmap and th_pool_apply fail as a
 *   whole (-1) only when the call itself is wrong: an unknown task, an arity
 *   that doesn't fit the task, a bad value type, a closed pool. Once the call
 *   runs it returns 0, and each ITEM has its own outcome in the th_results: a
 *   value, or an error (crashed, exited, timedOut, memoryLimit, cancelled,
 *   taskError, invalidArgument for a value that doesn't convert to its
 *   parameter's type).
 *
 *   Strings are NUL-terminated UTF-8. Times are seconds (double). Sizes are
 *   bytes.
 *
 * THREAD SAFETY
 *
 *   A th_host and a th_pool may be used from several threads at once: any
 *   number of th_pool_map / th_pool_starmap / th_pool_apply calls may run
 *   concurrently on one pool (they share its workers), and the th_host_*
 *   listing functions, th_pool_new and th_process_new may be called while
 *   other threads use the host. Only the *_free (and th_pool_join /
 *   th_pool_close / th_pool_terminate, which may run concurrently with calls
 *   but end them) must not race with other uses of the same handle.
 *   A th_results, a th_error and a th_process belong to one caller: use each
 *   from one thread at a time (handing it to another thread is fine).
 *   Free functions (th_version, th_abi_version, th_error_kind_name) may be
 *   called from anywhere at any time.
 *
 *   The library starts its own threads (one supervisor per host) and one
 *   helper process, the fork server `taskhost-forkserver`, which forks the
 *   workers; your process never forks. It does not install signal handlers.
 *
 * LIFETIMES
 *
 *   A pool and a process keep their host alive: th_host_free may come before
 *   th_pool_free / th_process_free; the host's plugins, fork server and
 *   supervisor go away when the last of them is freed. What th_host_plugin
 *   and th_host_task return lives until th_host_free.
 *
 * COMPATIBILITY
 *
 *   Within one major version (TH_VERSION_MAJOR): function signatures and the
 *   meaning of each function stay as they are; functions and enumerators may
 *   be added; structures only ever grow at their END. Options structures
 *   (th_host_options, th_pool_options) carry a `size` field that their
 *   _init function sets: a program built against an older header passes a
 *   smaller size, and the fields it doesn't know take their defaults. Always
 *   call the _init function before setting fields. Structures the library
 *   returns (th_value, th_plugin_info, th_task_info) are read through
 *   pointers, so new fields at their end don't affect old programs.
 *   The plugin ABI has its own major version, TH_ABI_MAJOR (plugin.h): a host
 *   loads plugins built for its ABI major; th_abi_version() says which.
 *
 * WHERE THINGS ARE FOUND
 *
 *   The fork server: $TASKHOST_FORKSERVER, else `taskhost-forkserver` beside
 *   the program or libTaskHost.so, in `taskhost/` beside them, or in
 *   `../lib/taskhost/` (the installed layout: PREFIX/lib/taskhost/).
 *   Plugins (include_builtin): every *.so beside the program or
 *   libTaskHost.so, in `taskhost/plugins/` beside them, or in
 *   `../lib/taskhost/plugins/` (installed: PREFIX/lib/taskhost/plugins/); plus
 *   each folder of the plugin path and each explicit file. When two plugins
 *   share a name, an explicit file wins over the path, the path over the
 *   built-in folders.
 */
#ifndef TASKHOST_TASKHOST_H
#define TASKHOST_TASKHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "plugin.h" /* th_type, TH_ABI_MAJOR */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * TH_EXTERN marks the functions libTaskHost.so exports: exactly the ones
 * declared here. Everything else in the library is built hidden (internal C
 * names carry the th__ prefix), so a program's own functions can't collide
 * with the library's internals.
 */
#if defined(_WIN32)
#define TH_EXTERN __declspec(dllimport)
#elif defined(__GNUC__)
#define TH_EXTERN __attribute__((visibility("default")))
#else
#define TH_EXTERN
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                  */

#define TH_VERSION_MAJOR 1
#define TH_VERSION_MINOR 0
#define TH_VERSION_PATCH 0
#define TH_VERSION_STRING "1.0.0"

/** The library's version, "MAJOR.MINOR.PATCH" (static storage). */
TH_EXTERN const char *th_version(void);

/** The plugin ABI major the library loads (TH_ABI_MAJOR of its build). */
TH_EXTERN int th_abi_version(void);

/* ------------------------------------------------------------------------ */
/* Values                                                                    */

/**
 * A typed value: an argument you pass, or a result you read.
 *
 * `type` selects the member of `as`: TH_BOOL → b, TH_INT32 → i32,
 * TH_INT64 → i64, TH_UINT64 → u64, TH_DOUBLE → f64, TH_STRING and TH_BYTES →
 * bytes. TH_VOID (a task without a result) uses none.
 *
 * Strings: `bytes.data` points at UTF-8 text and `bytes.length` counts its
 * bytes WITHOUT the terminating NUL. In results the text is always followed
 * by a NUL, so `(const char *)v->as.bytes.data` is a C string. In arguments
 * only `length` bytes are read (th_string sets it with strlen).
 *
 * Arguments are borrowed for the duration of the call that takes them; the
 * library copies what it keeps. Results (their strings and bytes too) are
 * owned by the th_results or th_process they came from.
 *
 * Argument conversion follows the Swift API: an int64 is accepted for an
 * int32, uint64 or double parameter when it fits exactly, an int32 for an
 * int64 or double, a uint64 for an int64 when it fits, a string for bytes.
 * A TH_SHARED_BYTES parameter (plugin.h: a view of a shared buffer, passed
 * in place) takes a string, the view's text: th_string("big:0:64M") for the
 * 64 MiB at offset 0 of the buffer th_host_share(host, "big", "buffer:1G",
 * ...) made; one that names no bytes of such a buffer fails that item as below.
 * Anything else fails that item with TH_ERR_INVALID_ARGUMENT.
 */
typedef struct th_value {
    th_type type;
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        uint64_t u64;
        double f64;
        struct {
            const void *data;
            size_t length;
        } bytes;
    } as;
} th_value;

static inline th_value th_bool(bool v) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_BOOL;
    value.as.b = v;
    return value;
}

static inline th_value th_int32(int32_t v) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_INT32;
    value.as.i32 = v;
    return value;
}

static inline th_value th_int64(int64_t v) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_INT64;
    value.as.i64 = v;
    return value;
}

static inline th_value th_uint64(uint64_t v) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_UINT64;
    value.as.u64 = v;
    return value;
}

static inline th_value th_double(double v) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_DOUBLE;
    value.as.f64 = v;
    return value;
}

/** A string argument (borrowed, NUL-terminated; NULL is an invalid argument). */
static inline th_value th_string(const char *text) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_STRING;
    value.as.bytes.data = text;
    value.as.bytes.length = text ? strlen(text) : 0;
    return value;
}

/** A bytes argument (borrowed; data may be NULL only when length is 0). */
static inline th_value th_bytes(const void *data, size_t length) {
    th_value value;
    memset(&value, 0, sizeof value);
    value.type = TH_BYTES;
    value.as.bytes.data = data;
    value.as.bytes.length = length;
    return value;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/**
 * What failed. The per-item kinds are those the CLI prints (TH_ERR_CRASHED
 * to TH_ERR_INVALID_ARGUMENT, and TH_ERR_SANDBOX_VIOLATION);
 * TH_ERR_INVALID_ARGUMENT, TH_ERR_PLUGIN and TH_ERR_SYSTEM are also failures
 * of a call or of the host itself. Numbers are stable.
 */
/*
 * Every error kind, once: XX(SUFFIX, number, "name"). The enumerator is
 * TH_ERR_<SUFFIX>, the name is what th_error_kind_name, the CLI and the
 * Swift API call it. Use it to map the kinds in your own code, as libuv's
 * UV_ERRNO_MAP: #define MINE(S, N, T) ... TH_ERROR_KINDS(MINE)
 */
#define TH_ERROR_KINDS(XX)                                                                      \
    XX(CRASHED, 1, "crashed")                    /* the worker was killed by a signal */       \
    XX(EXITED, 2, "exited")                      /* the worker exited while running the item */ \
    XX(TIMED_OUT, 3, "timedOut")                 /* past the task timeout; the worker was killed */ \
    XX(MEMORY_LIMIT, 4, "memoryLimit")           /* the worker went past its memory limit */   \
    XX(CANCELLED, 5, "cancelled")                /* not run or not finished (terminate, deadline) */ \
    XX(TASK_ERROR, 6, "taskError")               /* the plugin reported an error (th_set_error) */ \
    XX(INVALID_ARGUMENT, 7, "invalidArgument")   /* bad arguments, unknown task, misuse */     \
    XX(PLUGIN, 8, "pluginError")                 /* a plugin file could not be loaded */       \
    XX(SYSTEM, 9, "systemError")                 /* the host could not do its own work */      \
    XX(SANDBOX_VIOLATION, 10, "sandboxViolation") /* a sandboxed worker made a forbidden system call */

typedef enum th_error_kind {
    TH_OK = 0,
#define TH_ERROR_KIND_ENUMERATOR(SUFFIX, NUMBER, NAME) TH_ERR_##SUFFIX = NUMBER,
    TH_ERROR_KINDS(TH_ERROR_KIND_ENUMERATOR)
#undef TH_ERROR_KIND_ENUMERATOR
} th_error_kind;

/** An error: a kind, a message, and where they apply a signal or exit code. */
typedef struct th_error th_error;

/** The error's kind. NULL gives TH_OK. */
TH_EXTERN th_error_kind th_error_kind_of(const th_error *error);

/**
 * A sentence that says what happened, naming the task and item where known.
 * Borrowed from the error. NULL gives "".
 */
TH_EXTERN const char *th_error_message(const th_error *error);

/**
 * The kind's name, as the CLI and the Swift API spell it: "crashed",
 * "exited", "timedOut", "memoryLimit", "cancelled", "taskError",
 * "invalidArgument", "pluginError", "systemError", "sandboxViolation"; "ok" for TH_OK and
 * "unknown" for anything else. Static storage.
 */
TH_EXTERN const char *th_error_kind_name(th_error_kind kind);

/** The signal's name ("SIGSEGV") for kind crashed; NULL if none. Borrowed. */
TH_EXTERN const char *th_error_signal(const th_error *error);

/** Stores the exit code (kind exited) in *code and returns 1; 0 if none. */
TH_EXTERN int th_error_exit_code(const th_error *error, int *code);

/** How many times the item ran, when it was retried; 0 if not known. */
TH_EXTERN int th_error_attempts(const th_error *error);

/**
 * Frees an error the caller owns (one stored through a `th_error **`).
 * Never free an error borrowed from a th_results or a th_process. NULL is
 * fine.
 */
TH_EXTERN void th_error_free(th_error *error);

/* ------------------------------------------------------------------------ */
/* Host: plugins and their tasks                                             */

/** Where a host looks for plugins. Initialise with th_host_options_init. */
typedef struct th_host_options {
    /** sizeof(th_host_options) as the caller knows it; set by _init. */
    size_t size;
    /**
     * Plugin files to load; each must be a valid plugin, else th_host_new
     * fails with TH_ERR_PLUGIN naming the file and the reason. Borrowed for
     * the duration of th_host_new. Default: NULL, 0.
     */
    const char *const *plugin_files;
    size_t plugin_file_count;
    /**
     * Colon-separated folders whose *.so files are loaded (files that are
     * not plugins are skipped). NULL (the default): $TASKHOST_PLUGIN_PATH.
     * "" searches no folder.
     */
    const char *plugin_path;
    /** Also load the shipped plugins (see WHERE THINGS ARE FOUND). Default: true. */
    bool include_builtin;
    /**
     * The longest one plugin file may take to load (its constructors, its
     * entry, the checks), in seconds; a file that takes longer is refused.
     * Positive; INFINITY for no limit. Default: 10. (A field added after the
     * first release: programs built before it pass a smaller `size` and get
     * the default.)
     */
    double load_timeout;
} th_host_options;

/**
 * Sets `size` and the defaults. Inline, so `size` is the size your program
 * was compiled with; the library fills in defaults for fields it doesn't see.
 */
static inline void th_host_options_init(th_host_options *options) {
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
    options->include_builtin = true;
    options->load_timeout = 10;
}

/** A host: the loaded plugins, a fork server, a supervisor thread. */
typedef struct th_host th_host;

/**
 * Starts a host: starts the fork server and loads the plugins in it. No
 * plugin file can break this: one that exits, crashes, hangs past
 * `load_timeout` or leaves a process or thread behind while loading is
 * refused (a listed file: the error below; a found one is skipped) and the
 * others load. `options` may be NULL for the defaults.
 *
 * Returns a new host (free with th_host_free), or NULL and *error: kind
 * pluginError (an explicit file is missing, not a plugin, or misbehaved
 * while loading: the message names it and says what it did), systemError
 * (no fork server, no resources), invalidArgument (bad options, such as a
 * load_timeout that is not a positive number).
 */
TH_EXTERN th_host *th_host_new(const th_host_options *options, th_error **error);

/**
 * Releases the caller's reference. The host ends (its fork server exits)
 * once its pools and processes are freed too. NULL is fine.
 */
TH_EXTERN void th_host_free(th_host *host);

/**
 * Creates a shared object (include/taskhost/shared.h) named `name` from a
 * spec: "lock", "rlock", "semaphore[:N]", "bounded_semaphore[:N]", "event",
 * "condition", "barrier:N", "queue[:CAPACITY[:ITEM_SIZE]]",
 * "pipe[:CAPACITY[:ITEM_SIZE]]", "value[:int64|uint64|double[:INITIAL]]",
 * "array:TYPE:COUNT", "buffer:SIZE" (sizes take K, M, G). Tasks find it by
 * name with th_shared_find; workers started after this call see it. Use it
 * with shared.h's functions (th_queue_put, th_lock_acquire ...) from any
 * thread while work runs. It keeps the host alive.
 *
 * Returns a new object (free with th_shared_free), or NULL and *error: kind
 * invalidArgument (a bad name or spec, a name in use), systemError.
 */
TH_EXTERN th_shared *th_host_share(th_host *host, const char *name, const char *spec, th_error **error);

/**
 * Releases the object: workers keep their mapping until they exit, new
 * workers no longer see it, and its name is free again. NULL is fine.
 */
TH_EXTERN void th_shared_free(th_shared *object);

/** A loaded plugin. Everything borrowed from the host. */
typedef struct th_plugin_info {
    const char *name;     /**< from the plugin's descriptor */
    const char *version;
    const char *summary;  /**< "" when the plugin has none */
    const char *path;     /**< the real path of the file it was loaded from */
    size_t task_count;
} th_plugin_info;

/** A task with its signature. Everything borrowed from the host. */
typedef struct th_task_info {
    const char *name;            /**< "square" */
    const char *qualified_name;  /**< "square.square" */
    const char *summary;         /**< "" when it has none */
    const char *signature;       /**< "square.square(x: int64) -> int64" */
    th_type result;
    size_t param_count;
    const char *const *param_names;  /**< param_count names */
    const th_type *param_types;      /**< param_count types */
} th_task_info;

/** The number of plugins the host loaded (sorted by name). 0 for NULL. */
TH_EXTERN size_t th_host_plugin_count(const th_host *host);

/** Plugin `index` (0 ≤ index < count), or NULL when out of range. */
TH_EXTERN const th_plugin_info *th_host_plugin(const th_host *host, size_t index);

/** Task `task` of plugin `plugin`, or NULL when either is out of range. */
TH_EXTERN const th_task_info *th_host_task(const th_host *host, size_t plugin, size_t task);

/**
 * Finds a task by "PLUGIN.TASK", or by its bare name when exactly one plugin
 * has a task of that name — the lookup every call uses. Returns the task
 * (borrowed from the host), or NULL and *error (invalidArgument, saying what
 * is wrong, with a "did you mean" where a name is close).
 */
TH_EXTERN const th_task_info *th_host_find_task(const th_host *host, const char *name, th_error **error);

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

/** The outcomes of one call, one per item, in input order. */
typedef struct th_results th_results;

/** The number of items. 0 for NULL. */
TH_EXTERN size_t th_results_count(const th_results *results);

/**
 * Item `index`'s value (borrowed from `results`, with its strings and
 * bytes), or NULL when the item failed or `index` is out of range. A task
 * without a result gives a value of type TH_VOID.
 */
TH_EXTERN const th_value *th_results_value(const th_results *results, size_t index);

/** Item `index`'s error (borrowed), or NULL when it succeeded or is out of range. */
TH_EXTERN const th_error *th_results_error(const th_results *results, size_t index);

/** The number of items that failed. */
TH_EXTERN size_t th_results_error_count(const th_results *results);

/** Frees the results with every value and error in them. NULL is fine. */
TH_EXTERN void th_results_free(th_results *results);

/* ------------------------------------------------------------------------ */
/* Sandbox                                                                   */

/**
 * The sandbox a pool's or a process's workers enter before their first task
 * (README "Sandbox"): beyond the system's libraries, their plugins, locale
 * data and a few devices, they may read only each allow_read path (a file,
 * or a folder and everything beneath it) and write only beneath each
 * allow_write path — other files fail with EACCES; no network sockets, new
 * processes, programs, ptrace, mounts or privilege changes — such a call
 * stops the worker and its item fails with TH_ERR_SANDBOX_VIOLATION. Needs
 * Linux 5.13 or later with Landlock, and seccomp. Paths are copied when the
 * pool or process is made; relative ones are taken from the current folder;
 * one that does not exist grants nothing. Initialise with th_sandbox_init.
 */
typedef struct th_sandbox {
    /** sizeof(th_sandbox) as the caller knows it; set by _init. */
    size_t size;
    /** Paths the workers may read; may be NULL when allow_read_count is 0. */
    const char *const *allow_read;
    size_t allow_read_count;
    /** Paths the workers may write beneath; may be NULL when allow_write_count is 0. */
    const char *const *allow_write;
    size_t allow_write_count;
} th_sandbox;

/** Sets `size` and the defaults: nothing allowed beyond what every worker needs. */
static inline void th_sandbox_init(th_sandbox *sandbox) {
    memset(sandbox, 0, sizeof *sandbox);
    sandbox->size = sizeof *sandbox;
}

/* ------------------------------------------------------------------------ */
/* Pool                                                                      */

/** How a pool runs its workers. Initialise with th_pool_options_init. */
typedef struct th_pool_options {
    /** sizeof(th_pool_options) as the caller knows it; set by _init. */
    size_t size;
    /**
     * Worker processes; 0 (default): the number of cores. A number this
     * machine cannot run (kernel.threads-max, RLIMIT_NPROC, the descriptor
     * limit) is invalidArgument before any worker starts.
     */
    size_t processes;
    /** Items per message to a worker; 0 (default): Python's len / (4 × processes), rounded up. */
    size_t chunksize;
    /** Seconds one item may run before its worker is killed (timedOut); 0 (default) or INFINITY: no limit; NaN or negative: invalidArgument. */
    double task_timeout;
    /** Bytes of address space per worker (RLIMIT_AS); 0 (default): no limit. */
    uint64_t memory_limit;
    /** Items a worker runs before it is replaced; 0 (default): no limit. */
    size_t max_tasks_per_child;
    /** Extra attempts for an item whose worker crashed, exited or timed out. Default 0. */
    size_t retries;
    /**
     * Seconds each map/starmap/apply call may take; items not finished by
     * then fail with cancelled. 0 (default) or INFINITY: no deadline; NaN or
     * negative: invalidArgument.
     */
    double deadline;
    /**
     * Where what the tasks print on stdout goes: false (default) → this
     * process's stderr (stdout stays yours), true → this process's stdout.
     */
    bool task_output_to_stdout;
    /**
     * The sandbox every worker enters (borrowed for the th_pool_new call);
     * NULL (default): none. th_pool_new fails with systemError, before any
     * worker starts, when the kernel cannot sandbox.
     */
    const th_sandbox *sandbox;
} th_pool_options;

/** Sets `size` and the defaults (all zero: see each field). Inline, as th_host_options_init. */
static inline void th_pool_options_init(th_pool_options *options) {
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
}

/** A pool of worker processes. */
typedef struct th_pool th_pool;

/**
 * Starts a pool of workers for the host's tasks. `options` may be NULL for
 * the defaults. The pool holds a reference to the host.
 *
 * Returns a new pool (free with th_pool_free), or NULL and *error
 * (invalidArgument for bad options, systemError).
 */
TH_EXTERN th_pool *th_pool_new(th_host *host, const th_pool_options *options, th_error **error);

/**
 * Runs `task` once per value: args[0 .. count-1], each the single argument
 * of a one-parameter task. Blocks until every item has an outcome.
 *
 * Returns 0 and stores new results (count items, input order; free with
 * th_results_free) in *out, or -1 and *error when the call is wrong: unknown
 * task, a task that doesn't take exactly one parameter, a value of type
 * TH_VOID or out of range, NULL pointers, a closed pool (all
 * invalidArgument). count may be 0 (then args may be NULL).
 */
TH_EXTERN int th_pool_map(th_pool *pool, const char *task, const th_value *args, size_t count,
                          th_results **out, th_error **error);

/**
 * Runs `task` once per row of arguments: `args` holds count rows of `arity`
 * values each, row-major (row i is args[i*arity .. i*arity+arity-1]);
 * arity must equal the task's parameter count. Otherwise as th_pool_map.
 */
TH_EXTERN int th_pool_starmap(th_pool *pool, const char *task, const th_value *args, size_t count, size_t arity,
                              th_results **out, th_error **error);

/**
 * Runs one call of `task` with args[0 .. arity-1] in a worker. Returns 0 and
 * a th_results of ONE item (the value, or the item's error — a crash is a
 * result, not a failed call), or -1 and *error as th_pool_map.
 */
TH_EXTERN int th_pool_apply(th_pool *pool, const char *task, const th_value *args, size_t arity,
                            th_results **out, th_error **error);

/**
 * No more calls will be made: workers exit once running calls are done.
 * Later calls fail with invalidArgument. Returns at once.
 */
TH_EXTERN void th_pool_close(th_pool *pool);

/**
 * Waits until every worker has exited. Closes the pool first if it isn't
 * (Python requires close or terminate first; here join implies close).
 * Bounded: a worker whose plugins' fini hooks have not ended 5 seconds after
 * it was told to quit is killed.
 */
TH_EXTERN void th_pool_join(th_pool *pool);

/**
 * Stops now: kills every worker; unfinished items of running calls fail
 * with cancelled (those calls return 0 with their results). Returns at once.
 */
TH_EXTERN void th_pool_terminate(th_pool *pool);

/**
 * Frees the pool: terminates it if it is still running (no call may be
 * running in another thread), and releases its reference to the host.
 * For a graceful end call th_pool_close and th_pool_join first. NULL is fine.
 */
TH_EXTERN void th_pool_free(th_pool *pool);

/* ------------------------------------------------------------------------ */
/* Process                                                                   */

/**
 * One task in its own worker process (Python's multiprocessing.Process).
 * What the task prints on stdout goes to this process's stdout.
 */
typedef struct th_process th_process;

/**
 * Prepares a process that will run `task` with args[0 .. arity-1] (copied).
 * Returns a new process (free with th_process_free), or NULL and *error
 * (invalidArgument: unknown task, wrong arity, a value that doesn't convert).
 */
TH_EXTERN th_process *th_process_new(th_host *host, const char *task, const th_value *args, size_t arity,
                                     th_error **error);

/**
 * As th_process_new, in `sandbox` (borrowed for the call; NULL: none). Fails
 * with systemError when the kernel cannot sandbox.
 */
TH_EXTERN th_process *th_process_new_sandboxed(th_host *host, const char *task, const th_value *args, size_t arity,
                                               const th_sandbox *sandbox, th_error **error);

/** Starts the process. Returns 0, or -1 and *error (invalidArgument if already started). */
TH_EXTERN int th_process_start(th_process *process, th_error **error);

/**
 * Waits until the process ends or `timeout_seconds` pass (< 0: forever).
 * Returns 1 if it has ended, 0 if the time ran out or it was never started.
 */
TH_EXTERN int th_process_join(th_process *process, double timeout_seconds);

/**
 * Once the process has ended, stores its exit code in *code and returns 1:
 * 0 or the exit code, or minus the signal number after a crash (as
 * Python's exitcode: -11 for SIGSEGV). Returns 0 while it runs.
 */
TH_EXTERN int th_process_exit_code(const th_process *process, int *code);

/** The worker's process id, or 0 before it has been forked. */
TH_EXTERN int th_process_pid(const th_process *process);

/** 1 between th_process_start and the end of the process, else 0. */
TH_EXTERN int th_process_is_alive(const th_process *process);

/**
 * Kills the process (SIGKILL); its task fails with cancelled if it had not
 * finished. Returns at once; th_process_join waits for the end.
 */
TH_EXTERN void th_process_terminate(th_process *process);

/**
 * Once the task has an outcome, stores it — *value (the result, borrowed
 * from the process) or *error (borrowed; do not free) and NULL in the other
 * — and returns 1. Returns 0, with both NULL, while there is none. Either
 * pointer may be NULL.
 */
TH_EXTERN int th_process_result(const th_process *process, const th_value **value, const th_error **error);

/**
 * Frees the process. A process still running is terminated first. NULL is
 * fine.
 */
TH_EXTERN void th_process_free(th_process *process);

#ifdef __cplusplus
}
#endif

#endif /* TASKHOST_TASKHOST_H */
