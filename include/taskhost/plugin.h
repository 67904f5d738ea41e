/*
 * taskhost/plugin.h — the contract between TaskHost and a task plugin.
 *
 * A plugin is a shared library (C, C++, Swift, Rust ...) that exports one
 * entry function. The entry returns a constant descriptor: the ABI version,
 * the plugin's name, version and summary, and a table of tasks. Each task is
 * an ordinary C function; TaskHost calls it through libffi from the
 * signature written in the table. A plugin links against nothing but libc:
 * the few host services it may use (errors, byte results, logging) reach it
 * through a table of function pointers inside the context argument.
 *
 * A complete plugin (build: cc -shared -fPIC -I include mathx.c -o mathx.so):
 *
 *     #include <taskhost/plugin.h>
 *     #include <stdint.h>
 *
 *     static int64_t cube(int64_t x) { return x * x * x; }
 *     static double scale(double x, int64_t k) { return x * (double)k; }
 *
 *     static const th_param cube_params[]  = { { "x", TH_INT64 } };
 *     static const th_param scale_params[] = { { "x", TH_DOUBLE }, { "k", TH_INT64 } };
 *     static const th_task tasks[] = {
 *         { .name = "cube",  .summary = "x cubed",   .function = TH_FN(cube),
 *           .result = TH_INT64,  .params = cube_params,  .param_count = 1 },
 *         { .name = "scale", .summary = "x times k", .function = TH_FN(scale),
 *           .result = TH_DOUBLE, .params = scale_params, .param_count = 2 },
 *     };
 *     TH_EXPORT_PLUGIN("mathx", "1.0.0", "Small math tasks", tasks)
 *
 * Then: taskhost map mathx.cube 1 2 3 --plugin ./mathx.so   prints [1, 8, 27]
 *
 * Types and their C shapes (parameter / result):
 *
 *     TH_VOID     —                    / void
 *     TH_BOOL     bool                 / bool
 *     TH_INT32    int32_t              / int32_t
 *     TH_INT64    int64_t              / int64_t
 *     TH_UINT64   uint64_t             / uint64_t
 *     TH_DOUBLE   double               / double
 *     TH_STRING   const char *         / char *  (see ownership)
 *     TH_BYTES    const void *, size_t / void    (see ownership)
 *     TH_SHARED_BYTES  void *, size_t  / —       (parameters only; see below)
 *
 * A TH_BYTES parameter arrives as TWO C parameters: a pointer and a length.
 * So does a TH_SHARED_BYTES one (see "Zero copy" below).
 *
 * Ownership:
 *   - Every argument is borrowed for the duration of the call; copy what you
 *     keep. Strings are NUL-terminated UTF-8.
 *   - A TH_STRING result is malloc()'d by the plugin; the host free()s it.
 *     Returning NULL is reported as a task error.
 *   - A TH_BYTES result needs TH_TASK_CONTEXT: the function returns void and
 *     hands its bytes over with th_return_bytes(ctx, data, length), which
 *     copies them. Not calling it yields empty bytes.
 *
 * The context: a task whose flags include TH_TASK_CONTEXT receives a
 * `th_context *` as its FIRST C parameter (before the declared parameters).
 * Through it the task reports a failure with th_set_error(ctx, "message")
 * (the value it returns is then ignored and the item fails with kind
 * taskError), returns bytes, or writes a log line to the host's stderr.
 *
 * Per-worker hooks: a plugin may set `init` and `fini` through
 * TH_EXPORT_PLUGIN_WITH_HOOKS. `init` runs once in each worker process
 * before that worker's first task of this plugin; a non-zero return (with an
 * optional message set on the context) fails every item that worker is given
 * for this plugin. `fini` runs when a worker shuts down normally.
 *
 * Compatibility: the descriptor carries TH_ABI_MAJOR and its own size. A host
 * refuses a plugin of another major version with a clear error. Within one
 * major version, structures only ever grow at their end, so a plugin built
 * against an older header keeps loading on a newer host.
 *
 * Shared objects (taskhost/shared.h, included below): a task reaches the
 * locks, semaphores, events, conditions, barriers, queues, pipes, values,
 * arrays and byte buffers the host created by name, with
 * th_shared_find(ctx, "name"), and uses them with th_lock_acquire,
 * th_queue_put ... They work across all the workers and the host, and
 * survive a worker's death (see shared.h for each object's guarantee). A
 * complete plugin: a producer and a consumer talking through a queue, and
 * a task adding to a shared counter under its lock
 * (build: cc -shared -fPIC -I include pc.c -o pc.so):
 *
 *     #include <taskhost/plugin.h>
 *
 *     static int64_t produce(th_context *ctx, int64_t count) {
 *         th_shared *jobs = th_shared_find(ctx, "jobs");   // NULL: not created
 *         if (!jobs) { th_set_error(ctx, "no queue 'jobs'"); return 0; }
 *         for (int64_t i = 1; i <= count; i++) th_queue_put_int64(jobs, i, -1);
 *         th_queue_put_int64(jobs, 0, -1);                 // 0: the end
 *         return count;
 *     }
 *     static int64_t consume(th_context *ctx) {
 *         th_shared *jobs = th_shared_find(ctx, "jobs");
 *         if (!jobs) { th_set_error(ctx, "no queue 'jobs'"); return 0; }
 *         int64_t item, sum = 0;
 *         while (th_queue_get_int64(jobs, &item, 10.0) == TH_SHARED_OK && item != 0)
 *             sum += item;
 *         return sum;
 *     }
 *     static int64_t add(th_context *ctx, int64_t times) {
 *         th_shared *counter = th_shared_find(ctx, "counter");  // a shared value
 *         if (!counter) { th_set_error(ctx, "no value 'counter'"); return 0; }
 *         for (int64_t i = 0; i < times; i++) {
 *             th_lock_acquire(counter, -1);   // TH_SHARED_OWNER_DIED: a holder died
 *             th_value_store_int64(counter, th_value_load_int64(counter) + 1);
 *             th_lock_release(counter);
 *         }
 *         return th_value_load_int64(counter);
 *     }
 *     static const th_param count_param[] = { { "count", TH_INT64 } };
 *     static const th_param times_param[] = { { "times", TH_INT64 } };
 *     static const th_task tasks[] = {
 *         { .name = "produce", .function = TH_FN(produce), .result = TH_INT64,
 *           .params = count_param, .param_count = 1, .flags = TH_TASK_CONTEXT },
 *         { .name = "consume", .function = TH_FN(consume), .result = TH_INT64,
 *           .flags = TH_TASK_CONTEXT },
 *         { .name = "add", .function = TH_FN(add), .result = TH_INT64,
 *           .params = times_param, .param_count = 1, .flags = TH_TASK_CONTEXT },
 *     };
 *     TH_EXPORT_PLUGIN("pc", "1.0.0", "Producer, consumer, counter", tasks)
 *
 * The host creates the objects before the workers start, e.g. in Swift
 * `let jobs = try host.queue("jobs")`, in C th_host_share(host, "jobs",
 * "queue:1024", &error), or for one CLI run `--shared jobs=queue:1024`.
 * Objects created after a worker started are not seen by that worker.
 *
 * Zero copy for big data: a TH_SHARED_BYTES parameter receives bytes of a
 * shared buffer (`buffer:SIZE`) in place, as a pointer into the worker's
 * mapping of the buffer and a length: nothing is copied or serialized,
 * however big the view. The pointer is writable, and what the task writes
 * there the host and every other process see (a task may write its result
 * into a buffer this way). The argument is the view's text: "NAME" (the
 * whole buffer), "NAME:OFFSET" (to its end) or "NAME:OFFSET:LENGTH", sizes
 * in bytes with K, M or G (Swift: buffer.view(offset:length:) and
 * buffer.views(n) make them). The host refuses, before anything runs, a
 * view that names no buffer of its own or reaches outside it; a worker
 * started before the buffer was created fails the item with "parameter
 * 'data': no shared buffer named 'big'". The bytes stay mapped for as long
 * as the worker lives, even if the host drops the buffer meanwhile; there
 * is no name to unlink. A task summing a view and one filling another:
 *
 *     static uint64_t sum(void *data, size_t length) {   // no context needed
 *         const uint8_t *bytes = data;
 *         uint64_t total = 0;
 *         for (size_t i = 0; i < length; i++) total += bytes[i];
 *         return total;
 *     }
 *     static void fill(void *data, size_t length, int64_t byte) {
 *         memset(data, (int)byte, length);                 // the host sees it
 *     }
 *     static const th_param sum_params[] = { { "data", TH_SHARED_BYTES } };
 *     static const th_param fill_params[] = { { "data", TH_SHARED_BYTES },
 *                                             { "byte", TH_INT64 } };
 *     // { .name = "sum", .function = TH_FN(sum), .result = TH_UINT64,
 *     //   .params = sum_params, .param_count = 1 }, and "fill" (TH_VOID)
 *
 * Then, with `--shared big=buffer:64M`: taskhost map pc.sum big:0:32M
 * big:32M:32M sums both halves in place.
 *
 * Isolation: tasks run in forked worker processes. A task may crash, exit,
 * hang or leak; the host survives and fails only that item. Process
 * isolation protects the host from faulty plugins, not malicious ones.
 */
#ifndef TASKHOST_PLUGIN_H
#define TASKHOST_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shared.h" /* shared objects: locks, queues, values ... (see below) */

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI's major version. A host loads plugins of its own major. */
#define TH_ABI_MAJOR 1

/** The name of the one exported entry function. */
#define TH_ENTRY_SYMBOL "taskhost_plugin_entry"

/** Value types of parameters and results. The numbers are part of the ABI. */
typedef enum th_type {
    TH_VOID = 0,
    TH_BOOL = 1,
    TH_INT32 = 2,
    TH_INT64 = 3,
    TH_UINT64 = 4,
    TH_DOUBLE = 5,
    TH_STRING = 6,
    TH_BYTES = 7,
    /* ---- added in TaskHost 1.1; older hosts refuse it as an unknown type ---- */
    TH_SHARED_BYTES = 8 /**< parameters only: a view of a shared buffer, no copy */
} th_type;

/** Task flag: the function takes a `th_context *` as its first parameter. */
#define TH_TASK_CONTEXT 0x1u

/** An untyped function pointer; the table's types say how to call it. */
typedef void (*th_function)(void);

/** Casts any plain C function to a table entry. */
#define TH_FN(f) ((th_function)(void (*)(void))(f))

/** One parameter of a task: a name (shown in signatures and errors) and a type. */
typedef struct th_param {
    const char *name;
    th_type type;
} th_param;

/** One task: what the host lists, checks arguments against, and calls. */
typedef struct th_task {
    const char *name;        /**< unique within the plugin: [A-Za-z_][A-Za-z0-9_]* */
    const char *summary;     /**< one line shown by `taskhost plugins`; may be NULL */
    th_function function;    /**< the C function, wrapped with TH_FN */
    th_type result;          /**< the result type (TH_VOID for none) */
    const th_param *params;  /**< param_count entries; may be NULL when 0 */
    uint32_t param_count;    /**< at most 32 */
    uint32_t flags;          /**< TH_TASK_CONTEXT or 0 */
} th_task;

typedef struct th_context th_context;

/** Services the host offers a plugin. Grows only at its end (check `size`). */
typedef struct th_host_api {
    uint32_t size;       /**< sizeof(th_host_api) as the host knows it */
    uint32_t abi_major;  /**< the host's TH_ABI_MAJOR */
    /** Fails the current item with kind taskError and this message (copied). */
    void (*set_error)(th_context *ctx, const char *message);
    /** Sets the bytes result of the current item (copied). */
    void (*return_bytes)(th_context *ctx, const void *data, size_t length);
    /** Writes one line to the host's stderr, prefixed with the plugin's name. */
    void (*log)(th_context *ctx, const char *message);
    /* ---- added in TaskHost 1.1; older hosts end above (check `size`) ---- */
    /** The shared object named `name` (taskhost/shared.h), or NULL. */
    th_shared *(*shared)(th_context *ctx, const char *name);
} th_host_api;

/** What a task receives when it sets TH_TASK_CONTEXT. Opaque beyond `api`. */
struct th_context {
    const th_host_api *api;
};

/** The plugin descriptor returned by the entry function. */
typedef struct th_plugin {
    uint32_t abi_major;       /**< TH_ABI_MAJOR at build time */
    uint32_t size;            /**< sizeof(th_plugin) at build time */
    uint32_t task_size;       /**< sizeof(th_task) at build time */
    uint32_t task_count;      /**< entries in `tasks` */
    const char *name;         /**< the plugin's name: [A-Za-z_][A-Za-z0-9_]* */
    const char *version;      /**< free-form, e.g. "1.0.0" */
    const char *summary;      /**< one line; may be NULL */
    const th_task *tasks;
    /** Optional: once per worker, before its first task. 0 means ready. */
    int (*init)(th_context *ctx);
    /** Optional: once per worker, at a normal shutdown. */
    void (*fini)(void);
} th_plugin;

/** The entry function's type. */
typedef const th_plugin *(*th_entry_function)(void);

/** Fails the current item with `message` (kind taskError). */
static inline void th_set_error(th_context *ctx, const char *message) {
    ctx->api->set_error(ctx, message);
}

/** Like th_set_error, with a printf format. Messages are cut at 4 KiB. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void th_set_errorf(th_context *ctx, const char *format, ...) {
    char message[4096];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    ctx->api->set_error(ctx, message);
}

/** Sets the bytes result of the current item; the host copies them. */
static inline void th_return_bytes(th_context *ctx, const void *data, size_t length) {
    ctx->api->return_bytes(ctx, data, length);
}

/** Writes a line to the host's stderr. */
static inline void th_log(th_context *ctx, const char *message) {
    ctx->api->log(ctx, message);
}

/**
 * The shared object the host created under `name` (taskhost/shared.h), or
 * NULL: no such object, an object created after this worker started, or a
 * host older than shared objects. The handle lives as long as the worker:
 * look it up once (in `init`, say) and keep it.
 */
static inline th_shared *th_shared_find(th_context *ctx, const char *name) {
    if (ctx->api->size < offsetof(th_host_api, shared) + sizeof ctx->api->shared) return NULL;
    return ctx->api->shared(ctx, name);
}

#if defined(_WIN32)
#define TH_EXPORT __declspec(dllexport)
#else
#define TH_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
#define TH_EXTERN_C extern "C"
#else
#define TH_EXTERN_C
#endif

/**
 * Defines the plugin's entry function with per-worker hooks (either may be
 * NULL). `tasks` must be an array (not a pointer): its length is counted.
 */
#define TH_EXPORT_PLUGIN_WITH_HOOKS(NAME, VERSION, SUMMARY, TASKS, INIT, FINI) \
    TH_EXTERN_C TH_EXPORT const th_plugin *taskhost_plugin_entry(void);        \
    TH_EXTERN_C TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {       \
        static const th_plugin descriptor = {                                  \
            TH_ABI_MAJOR, (uint32_t)sizeof(th_plugin),                         \
            (uint32_t)sizeof(th_task),                                         \
            (uint32_t)(sizeof(TASKS) / sizeof((TASKS)[0])),                    \
            NAME, VERSION, SUMMARY, TASKS, INIT, FINI};                        \
        return &descriptor;                                                    \
    }

/** Defines the plugin's entry function. `tasks` must be an array. */
#define TH_EXPORT_PLUGIN(NAME, VERSION, SUMMARY, TASKS) \
    TH_EXPORT_PLUGIN_WITH_HOOKS(NAME, VERSION, SUMMARY, TASKS, NULL, NULL)

#ifdef __cplusplus
}
#endif

#endif /* TASKHOST_PLUGIN_H */
