/* The worker loop (see th_worker.h).
 * Over 400 lines: the loop, the context a task sees and both chunk formats
 * (item by item, packed) share the result buffers and the exit path; the
 * packed section is the one to move out when it grows again. */
#include "th_worker.h"
#include "th_ipc.h"
#include "th_shared_core.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Results are flushed to the host when this much is buffered, or at a chunk's end. */
#define RESULT_FLUSH_BYTES (64u * 1024u)

/* How long an idle worker watches for its next request before sleeping. */
#define REQUEST_SPIN_NS 50000

/* ---- the context a task sees ---------------------------------------- */

typedef struct worker_context {
    th_context base;
    const char *plugin_name;
    char *error;
    th__buf bytes;
    int has_bytes;
} worker_context;

static void ctx_set_error(th_context *ctx, const char *message) {
    worker_context *w = (worker_context *)ctx;
    free(w->error);
    w->error = strdup(message && *message ? message : "task failed");
}

static void ctx_return_bytes(th_context *ctx, const void *data, size_t length) {
    worker_context *w = (worker_context *)ctx;
    th__buf_clear(&w->bytes);
    th__buf_put(&w->bytes, data, length);
    w->has_bytes = 1;
}

static void ctx_log(th_context *ctx, const char *message) {
    worker_context *w = (worker_context *)ctx;
    fprintf(stderr, "[%s] %s\n", w->plugin_name, message ? message : "");
}

static th_shared *ctx_shared(th_context *ctx, const char *name) {
    (void)ctx;
    return th__shared_find_name(name); /* mapped by the fork server before this worker was forked */
}

static const th_host_api host_api = {
    sizeof(th_host_api), TH_ABI_MAJOR, ctx_set_error, ctx_return_bytes, ctx_log, ctx_shared,
};

static void context_reset(worker_context *w, const char *plugin_name) {
    w->base.api = &host_api;
    w->plugin_name = plugin_name;
    free(w->error);
    w->error = NULL;
    th__buf_clear(&w->bytes);
    w->has_bytes = 0;
}

/* ---- the loop -------------------------------------------------------- */

static int read_fully(int fd, void *into, size_t length) {
    uint8_t *p = into;
    while (length > 0) {
        ssize_t n = read(fd, p, length);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        length -= (size_t)n;
    }
    return 1;
}

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits until a request can be read. With `watch` it watches for a short
 * while before sleeping: waking a sleeping process costs tens of
 * microseconds on virtual machines, and a caller making call after call
 * (one item each) finds the worker awake. After a big chunk it sleeps at
 * once, leaving the cores to the host that feeds it. */
static void await_request(int fd, int watch) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint64_t until = watch ? monotonic_ns() + REQUEST_SPIN_NS : 0;
    do {
        if (poll(&p, 1, 0) != 0) return;
    } while (monotonic_ns() < until);
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}

_Noreturn static void worker_exit(th__plugin_set *set, int code) {
    if (code == 0) {
        for (uint32_t i = 0; i < set->count; i++) {
            th__loaded_plugin *p = &set->plugins[i];
            if (p->descriptor && p->init_state == 1 && p->descriptor->fini) p->descriptor->fini();
        }
    }
    fflush(NULL);
    _exit(code);
}

/* A results frame being filled: its header offset and item count. */
typedef struct results {
    th__buf buf;
    size_t frame_start;
    uint32_t count;
} results;

static void results_begin(results *r) {
    th__buf_clear(&r->buf);
    r->frame_start = th__msg_results_begin(&r->buf);
    r->count = 0;
}

static int results_flush(results *r, int fd) {
    if (r->count == 0) return 0;
    th__msg_results_finish(&r->buf, r->frame_start, r->count);
    if (r->buf.failed) return -1;
    int rc = th__write_all(fd, r->buf.data, r->buf.length);
    results_begin(r);
    return rc;
}

static void put_error(results *r, const char *message) {
    th__msg_result_put_error(&r->buf, message);
    r->count++;
}

static int ensure_initialised(th__loaded_plugin *plugin, worker_context *ctx) {
    if (plugin->init_state == 0) {
        plugin->init_state = 1;
        if (plugin->descriptor->init) {
            context_reset(ctx, plugin->descriptor->name);
            int rc = plugin->descriptor->init(&ctx->base);
            if (rc != 0) {
                char message[4200];
                snprintf(message, sizeof message, "plugin '%s' failed to initialise: %s", plugin->descriptor->name,
                         ctx->error ? ctx->error : "its init hook returned an error");
                plugin->init_error = strdup(message);
                plugin->init_state = -1;
            }
        }
    }
    return plugin->init_state;
}

/* Reads a chunk's header: its plugin, the task's call and the item count.
 * A request that names no loaded task is malformed: the worker exits. */
/* Runs one item, the plugin's init hook first if it has not run yet (the
 * item already counted as started). Returns the item's error message (the
 * init failure or what the task set), or NULL with *result filled in;
 * *owned as th__call_invoke, for the caller to free. */
static const char *call_item(th__loaded_plugin *plugin, const th__call *call, const th__wire_value *args,
                             worker_context *ctx, th__wire_value *result, char **owned) {
    *owned = NULL;
    if (ensure_initialised(plugin, ctx) < 0) return plugin->init_error;
    context_reset(ctx, plugin->descriptor->name);
    th__call_invoke(call, args, &ctx->base, result, owned);
    return ctx->error;
}

static th__loaded_plugin *read_chunk_header(th__plugin_set *set, th__reader *r, const th__call **call, uint32_t *count) {
    th__msg_run run;
    int malformed = th__msg_run_get(r, &run);
    uint32_t plugin_index = run.plugin, task_index = run.task;
    *count = run.count;
    if (malformed || plugin_index >= set->count || !set->plugins[plugin_index].descriptor ||
        task_index >= set->plugins[plugin_index].descriptor->task_count)
        worker_exit(set, 70);
    th__loaded_plugin *plugin = &set->plugins[plugin_index];
    *call = &plugin->calls[task_index];
    return plugin;
}

static void run_chunk(th__plugin_set *set, th__reader *r, results *out, int result_fd, th__worker_page *page,
                      worker_context *ctx) {
    const th__call *call;
    uint32_t count;
    th__loaded_plugin *plugin = read_chunk_header(set, r, &call, &count);
    const th_task *task = call->task;
    th__wire_value args[TH_MAX_PARAMS];

    for (uint32_t item = 0; item < count; item++) {
        for (uint32_t p = 0; p < task->param_count; p++) {
            if (th__get_value(r, &args[p]) != 0 || args[p].type != th__call_wire_type(task->params[p].type))
                worker_exit(set, 70);
        }
        th__page_count(&page->started);
        th__wire_value result;
        char *owned;
        const char *error = call_item(plugin, call, args, ctx, &result, &owned);
        if (!error && task->result == TH_STRING && !owned) error = "the task returned a NULL string";
        if (error) {
            put_error(out, error);
        } else {
            if (task->result == TH_BYTES) {
                result.u.bytes.data = ctx->bytes.data;
                result.u.bytes.length = (uint32_t)ctx->bytes.length;
            }
            th__msg_result_put_value(&out->buf, &result);
            out->count++;
        }
        free(owned);
        th__page_count(&page->finished);
        if (out->buf.length >= RESULT_FLUSH_BYTES && results_flush(out, result_fd) != 0) worker_exit(set, 70);
    }
    if (results_flush(out, result_fd) != 0) worker_exit(set, 70);
    fflush(NULL);
}

/* ---- packed chunks ---------------------------------------------------- */

/* A packed results frame holds at most this many items. */
#define PACKED_FLUSH_ITEMS 8192u

/* A packed results frame being filled: payloads in `frame`, errors aside
 * until the flush appends them. */
typedef struct packed_results {
    th__buf frame;
    th__buf errors;
    size_t frame_start;
    uint32_t count;
    uint32_t error_count;
} packed_results;

static void packed_begin(packed_results *p, int width) {
    th__buf_clear(&p->frame);
    th__buf_clear(&p->errors);
    p->frame_start = th__msg_packed_results_begin(&p->frame);
    th__buf_reserve(&p->frame, (size_t)PACKED_FLUSH_ITEMS * (size_t)width);
    p->count = 0;
    p->error_count = 0;
}

static int packed_flush(packed_results *p, int width, int fd) {
    if (p->count == 0) return 0;
    th__msg_packed_results_finish(&p->frame, p->frame_start, p->count, &p->errors, p->error_count);
    if (p->frame.failed) return -1;
    int rc = th__write_all(fd, p->frame.data, p->frame.length);
    packed_begin(p, width);
    return rc;
}

/* Room for the next `n` payloads of `width` bytes (reserved by packed_begin). */
static uint8_t *packed_slots(packed_results *p, int width, uint32_t n) {
    size_t bytes = (size_t)n * (size_t)width;
    if (th__buf_reserve(&p->frame, bytes) != 0) return NULL;
    uint8_t *slots = p->frame.data + p->frame.length;
    memset(slots, 0, bytes);
    p->frame.length += bytes;
    p->count += n;
    return slots;
}

static void packed_error(packed_results *p, const char *message) {
    th__msg_packed_error_put(&p->errors, p->count - 1, message);
    p->error_count++;
}

/* Runs items [first, first + n) in a tight loop when the task has one (a
 * direct shape, or a checked (context, int64) -> int64 task whose failing
 * items are noted in place, each alone); 0 when it needs the general path. */
static int run_packed_loop(th__loaded_plugin *plugin, const th__call *call, const uint8_t *const *columns,
                           uint32_t first, uint32_t n, uint8_t *slots, int width, packed_results *out,
                           th__worker_page *page, worker_context *ctx) {
    if (th__call_packed(call, columns, first, n, slots, &page->started, &page->finished)) return 1;
    uint32_t done = 0;
    uint32_t position = out->count - n; /* of item `first` in the results frame */
    context_reset(ctx, plugin->descriptor->name);
    while (done < n) {
        int64_t ran = th__call_packed_checked(call, columns, first + done, n - done, slots + (size_t)done * (size_t)width,
                                              &ctx->base, &ctx->error, &page->started, &page->finished);
        if (ran < 0) return 0;
        done += (uint32_t)ran;
        if (done == n) break;
        th__msg_packed_error_put(&out->errors, position + done, ctx->error);
        out->error_count++;
        context_reset(ctx, plugin->descriptor->name);
        done++;
    }
    return 1;
}

/* Reads item i's arguments from the packed columns. */
static void load_packed_arguments(const th_task *task, const uint8_t *const *columns, uint32_t i,
                                  th__wire_value *args) {
    for (uint32_t p = 0; p < task->param_count; p++) {
        args[p].type = (uint8_t)task->params[p].type;
        const uint8_t *at = columns[p] + (size_t)i * (size_t)th__packed_width(args[p].type);
        switch (task->params[p].type) {
        case TH_BOOL: args[p].u.b = *at != 0; break;
        case TH_INT32: memcpy(&args[p].u.i32, at, 4); break;
        case TH_INT64: memcpy(&args[p].u.i64, at, 8); break;
        case TH_UINT64: memcpy(&args[p].u.u64, at, 8); break;
        case TH_DOUBLE: memcpy(&args[p].u.f64, at, 8); break;
        default: break;
        }
    }
}

/* Writes a result's raw payload (th__packed_width bytes). */
static void store_packed_result(const th__wire_value *result, uint8_t *slot) {
    switch (result->type) {
    case TH_BOOL: *slot = result->u.b ? 1 : 0; break;
    case TH_INT32: memcpy(slot, &result->u.i32, 4); break;
    case TH_INT64: memcpy(slot, &result->u.i64, 8); break;
    case TH_UINT64: memcpy(slot, &result->u.u64, 8); break;
    case TH_DOUBLE: memcpy(slot, &result->u.f64, 8); break;
    default: break;
    }
}

static void run_packed_chunk(th__plugin_set *set, th__reader *r, packed_results *out, int result_fd,
                             th__worker_page *page, worker_context *ctx) {
    const th__call *call;
    uint32_t count;
    th__loaded_plugin *plugin = read_chunk_header(set, r, &call, &count);
    const th_task *task = call->task;
    if (!th__task_packable(task)) worker_exit(set, 70);

    /* The columns must fill the rest of the frame exactly. */
    const uint8_t *columns[TH_MAX_PARAMS];
    uint64_t offset = r->position;
    for (uint32_t p = 0; p < task->param_count; p++) {
        columns[p] = r->data + offset;
        offset += (uint64_t)count * (uint64_t)th__packed_width((uint8_t)task->params[p].type);
    }
    if (offset != r->length) worker_exit(set, 70);

    int width = th__packed_width((uint8_t)task->result);
    packed_begin(out, width);
    for (uint32_t first = 0; first < count;) {
        uint32_t n = count - first < PACKED_FLUSH_ITEMS ? count - first : PACKED_FLUSH_ITEMS;
        uint8_t *slots = packed_slots(out, width, n);
        if (!slots) worker_exit(set, 70);
        /* The first item runs the init hook after counting itself started, as in run_chunk. */
        if (plugin->init_state != 1 || !run_packed_loop(plugin, call, columns, first, n, slots, width, out, page, ctx)) {
            /* The general path, item by item; count is rewound to place errors. */
            out->count -= n;
            for (uint32_t i = first; i < first + n; i++) {
                th__wire_value args[TH_MAX_PARAMS];
                load_packed_arguments(task, columns, i, args);
                th__page_count(&page->started);
                out->count++;
                th__wire_value result;
                char *owned;
                const char *error = call_item(plugin, call, args, ctx, &result, &owned);
                if (error) packed_error(out, error);
                else store_packed_result(&result, slots + (size_t)(i - first) * (size_t)width);
                free(owned);
                th__page_count(&page->finished);
            }
        }
        first += n;
        if (packed_flush(out, width, result_fd) != 0) worker_exit(set, 70);
    }
    fflush(NULL);
}

_Noreturn void th__worker_run(th__plugin_set *set, int request_fd, int result_fd, th__worker_page *page) {
    th__buf request;
    th__buf_init(&request);
    results out;
    th__buf_init(&out.buf);
    results_begin(&out);
    packed_results packed;
    th__buf_init(&packed.frame);
    th__buf_init(&packed.errors);
    worker_context ctx;
    memset(&ctx, 0, sizeof ctx);
    th__buf_init(&ctx.bytes);

    int configured = 0;
    /* Its first requests are written ahead, or it is a spare that may wait
     * long: it sleeps at once when they are not there. */
    int watch = 0;
    for (;;) {
        uint8_t header[TH_FRAME_HEADER_SIZE];
        await_request(request_fd, watch);
        int rc = read_fully(request_fd, header, sizeof header);
        if (rc == 0) worker_exit(set, 0);
        uint32_t length;
        uint8_t type;
        if (rc < 0 || th__frame_header(header, sizeof header, &length, &type) != 1) worker_exit(set, 70);
        th__buf_clear(&request);
        if (th__buf_reserve(&request, length) != 0 || read_fully(request_fd, request.data, length) != 1)
            worker_exit(set, 70);
        th__reader r;
        th__reader_init(&r, request.data, length);
        /* Its settings come first, once; nothing runs before them. */
        if (!configured) {
            th__msg_settings settings;
            if (type != TH_MSG_SETTINGS || th__msg_settings_get(&r, &settings) != 0) worker_exit(set, 70);
            th__worker_apply_settings(&settings);
            configured = 1;
            continue;
        }
        uint64_t started = __atomic_load_n(&page->started, __ATOMIC_RELAXED);
        switch (type) {
        case TH_MSG_RUN: run_chunk(set, &r, &out, result_fd, page, &ctx); break;
        case TH_MSG_RUN_PACKED: run_packed_chunk(set, &r, &packed, result_fd, page, &ctx); break;
        case TH_MSG_QUIT: worker_exit(set, 0);
        default: worker_exit(set, 70);
        }
        watch = __atomic_load_n(&page->started, __ATOMIC_RELAXED) - started <= 1;
    }
}
