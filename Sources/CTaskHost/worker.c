/* The worker loop (see th_worker.h). */
#include "th_worker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Results are flushed to the host when this much is buffered, or at a chunk's end. */
#define RESULT_FLUSH_BYTES (64u * 1024u)

/* For the fatal-signal handler, which can only see globals. */
static th_worker_page *g_page;
static uint64_t g_memory_limit;

/* ---- the context a task sees ---------------------------------------- */

typedef struct worker_context {
    th_context base;
    const char *plugin_name;
    char *error;
    th_buf bytes;
    int has_bytes;
} worker_context;

static void ctx_set_error(th_context *ctx, const char *message) {
    worker_context *w = (worker_context *)ctx;
    free(w->error);
    w->error = strdup(message && *message ? message : "task failed");
}

static void ctx_return_bytes(th_context *ctx, const void *data, size_t length) {
    worker_context *w = (worker_context *)ctx;
    th_buf_clear(&w->bytes);
    th_buf_put(&w->bytes, data, length);
    w->has_bytes = 1;
}

static void ctx_log(th_context *ctx, const char *message) {
    worker_context *w = (worker_context *)ctx;
    fprintf(stderr, "[%s] %s\n", w->plugin_name, message ? message : "");
}

static const th_host_api host_api = {
    sizeof(th_host_api), TH_ABI_MAJOR, ctx_set_error, ctx_return_bytes, ctx_log,
};

static void context_reset(worker_context *w, const char *plugin_name) {
    w->base.api = &host_api;
    w->plugin_name = plugin_name;
    free(w->error);
    w->error = NULL;
    th_buf_clear(&w->bytes);
    w->has_bytes = 0;
}

/* ---- setup after fork ------------------------------------------------ */

/* Reports whether the address space is within 1/16 of the limit: the sign
 * that a death was caused by the memory limit. Async-signal-safe. */
static int near_memory_limit(void) {
    if (!g_memory_limit) return 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[64];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    uint64_t pages = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++) pages = pages * 10 + (uint64_t)(text[i] - '0');
    uint64_t used = pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return used + g_memory_limit / 16 >= g_memory_limit;
}

static void fatal_signal(int signo) {
    if (g_page && near_memory_limit()) g_page->memory_exhausted = 1;
    signal(signo, SIG_DFL);
    raise(signo);
}

static void exit_check(void) {
    if (g_page && near_memory_limit()) g_page->memory_exhausted = 1;
}

static int is_kept(int fd, const int *keep, int keep_count) {
    if (fd <= 2) return 1;
    for (int i = 0; i < keep_count; i++)
        if (keep[i] == fd) return 1;
    return 0;
}

static void close_other_descriptors(const int *keep, int keep_count) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        for (int fd = 3; fd < 1024; fd++)
            if (!is_kept(fd, keep, keep_count)) close(fd);
        return;
    }
    int own = dirfd(dir);
    int doomed[1024];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        int fd = atoi(entry->d_name);
        if (fd != own && !is_kept(fd, keep, keep_count)) doomed[count++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < count; i++) close(doomed[i]);
}

void th_worker_setup(const th_worker_settings *settings, const int *keep, int keep_count, th_worker_page *page) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(70); /* the fork server is already gone */

    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);

    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        close(null_fd);
    }
    if (settings->task_output == TH_OUTPUT_STDERR) dup2(2, 1);
    close_other_descriptors(keep, keep_count);

    /* The fork server already reset every other disposition at its start;
     * only what it changed for itself needs undoing. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C is the host's to handle; it ends the workers itself */
    g_page = page;
    g_memory_limit = settings->memory_limit;
    if (settings->memory_limit) {
        struct rlimit limit = {settings->memory_limit, settings->memory_limit};
        setrlimit(RLIMIT_AS, &limit);
        static char alt_stack[16384];
        stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = fatal_signal;
        sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
        int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
        atexit(exit_check);
    }
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

static int write_fully(int fd, const void *from, size_t length) {
    const uint8_t *p = from;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

_Noreturn static void worker_exit(th_plugin_set *set, int code) {
    if (code == 0) {
        for (uint32_t i = 0; i < set->count; i++) {
            th_loaded_plugin *p = &set->plugins[i];
            if (p->descriptor && p->init_state == 1 && p->descriptor->fini) p->descriptor->fini();
        }
    }
    fflush(NULL);
    _exit(code);
}

/* A results frame being filled: its header offset and item count. */
typedef struct results {
    th_buf buf;
    size_t frame_start;
    size_t count_offset;
    uint32_t count;
} results;

static void results_begin(results *r) {
    th_buf_clear(&r->buf);
    r->frame_start = th_frame_begin(&r->buf, TH_MSG_RESULTS);
    r->count_offset = r->buf.length;
    th_buf_put_u32(&r->buf, 0);
    r->count = 0;
}

static int results_flush(results *r, int fd) {
    if (r->count == 0) return 0;
    if (r->buf.failed) return -1;
    for (int i = 0; i < 4; i++) r->buf.data[r->count_offset + i] = (uint8_t)(r->count >> (8 * i));
    th_frame_end(&r->buf, r->frame_start);
    int rc = write_fully(fd, r->buf.data, r->buf.length);
    results_begin(r);
    return rc;
}

static void put_error(results *r, const char *message) {
    th_buf_put_u8(&r->buf, TH_ITEM_ERROR);
    th_buf_put_str(&r->buf, message);
    r->count++;
}

static int ensure_initialised(th_loaded_plugin *plugin, worker_context *ctx) {
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

static void run_chunk(th_plugin_set *set, th_reader *r, results *out, int result_fd, th_worker_page *page,
                      worker_context *ctx) {
    uint32_t plugin_index = th_get_u32(r);
    uint32_t task_index = th_get_u32(r);
    uint32_t count = th_get_u32(r);
    if (r->failed || plugin_index >= set->count || !set->plugins[plugin_index].descriptor ||
        task_index >= set->plugins[plugin_index].descriptor->task_count)
        worker_exit(set, 70);
    th_loaded_plugin *plugin = &set->plugins[plugin_index];
    const th_call *call = &plugin->calls[task_index];
    const th_task *task = call->task;
    th_wire_value args[TH_MAX_PARAMS];

    for (uint32_t item = 0; item < count; item++) {
        for (uint32_t p = 0; p < task->param_count; p++) {
            if (th_get_value(r, &args[p]) != 0 || args[p].type != task->params[p].type) worker_exit(set, 70);
        }
        page->started++;
        if (ensure_initialised(plugin, ctx) < 0) {
            put_error(out, plugin->init_error);
        } else {
            context_reset(ctx, plugin->descriptor->name);
            th_wire_value result;
            char *owned = NULL;
            th_call_invoke(call, args, &ctx->base, &result, &owned);
            if (ctx->error) {
                put_error(out, ctx->error);
            } else if (task->result == TH_STRING && !owned) {
                put_error(out, "the task returned a NULL string");
            } else {
                if (task->result == TH_BYTES) {
                    result.u.bytes.data = ctx->bytes.data;
                    result.u.bytes.length = (uint32_t)ctx->bytes.length;
                }
                th_buf_put_u8(&out->buf, TH_ITEM_OK);
                th_put_value(&out->buf, &result);
                out->count++;
            }
            free(owned);
        }
        page->finished++;
        if (out->buf.length >= RESULT_FLUSH_BYTES && results_flush(out, result_fd) != 0) worker_exit(set, 70);
    }
    if (results_flush(out, result_fd) != 0) worker_exit(set, 70);
    fflush(NULL);
}

_Noreturn void th_worker_run(th_plugin_set *set, int request_fd, int result_fd, th_worker_page *page) {
    th_buf request;
    th_buf_init(&request);
    results out;
    th_buf_init(&out.buf);
    results_begin(&out);
    worker_context ctx;
    memset(&ctx, 0, sizeof ctx);
    th_buf_init(&ctx.bytes);

    for (;;) {
        uint8_t header[TH_FRAME_HEADER_SIZE];
        int rc = read_fully(request_fd, header, sizeof header);
        if (rc == 0) worker_exit(set, 0);
        uint32_t length;
        uint8_t type;
        if (rc < 0 || th_frame_header(header, sizeof header, &length, &type) != 1) worker_exit(set, 70);
        th_buf_clear(&request);
        if (th_buf_reserve(&request, length) != 0 || read_fully(request_fd, request.data, length) != 1)
            worker_exit(set, 70);
        th_reader r;
        th_reader_init(&r, request.data, length);
        switch (type) {
        case TH_MSG_RUN: run_chunk(set, &r, &out, result_fd, page, &ctx); break;
        case TH_MSG_QUIT: worker_exit(set, 0);
        default: worker_exit(set, 70);
        }
    }
}
