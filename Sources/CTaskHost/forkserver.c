/* The fork server (see th_forkserver.h and the messages in th_protocol.h). */
#include "th_forkserver.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th_system.h"
#include "th_worker.h"

/* A forked worker not yet handed to the host: its pid and the host's ends. */
typedef struct fresh_worker {
    pid_t pid;
    int request; /* write end of its request pipe */
    int result;  /* read end of its result pipe */
    int page_fd;
} fresh_worker;

typedef struct server {
    int socket_fd;
    int signal_fd;
    th_plugin_set plugins;
    pid_t *workers;
    size_t worker_count;
    size_t worker_capacity;
    uint8_t *message;
} server;

static void close_fresh(fresh_worker *w) {
    int all[] = {w->request, w->result, w->page_fd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] >= 0) close(all[i]);
    memset(w, 0, sizeof *w);
    w->request = w->result = w->page_fd = -1;
}

static void send_frame(server *s, th_buf *buf, const int *fds, int fd_count) {
    if (buf->failed || th_send_message(s->socket_fd, buf->data, buf->length, fds, fd_count) != 0) {
        /* The host is gone or unreachable: nothing left to serve. */
        _exit(0);
    }
}

/* ---- loading plugins ------------------------------------------------- */

static const th_plugin *open_plugin(const char *path, void **handle, char *error, size_t error_size) {
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        snprintf(error, error_size, "dlopen failed: %s", dlerror());
        return NULL;
    }
    th_entry_function entry = (th_entry_function)(void (*)(void))dlsym(*handle, TH_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(error, error_size, "it has no entry symbol '%s', so it is not a TaskHost plugin", TH_ENTRY_SYMBOL);
        return NULL;
    }
    const th_plugin *plugin = entry();
    if (th_plugin_validate(plugin, error, error_size) != 0) return NULL;
    return plugin;
}

/* Loads and checks the plugin in a throwaway child first, so a constructor
 * or a descriptor that crashes takes down the probe, not this server.
 * Returns 0, or -1 with the reason. */
static int probe_plugin(const char *path, char *error, size_t error_size) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        snprintf(error, error_size, "cannot be probed: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        snprintf(error, error_size, "cannot be probed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, 1); /* a chatty constructor must not pollute stdout twice */
        void *handle;
        char message[1024] = "";
        int ok = open_plugin(path, &handle, message, sizeof message) != NULL;
        if (!ok && write(pipe_fds[1], message, strlen(message)) < 0) _exit(2);
        _exit(ok ? 0 : 1);
    }
    close(pipe_fds[1]);
    char message[1024];
    size_t length = 0;
    for (;;) {
        ssize_t n = read(pipe_fds[0], message + length, sizeof message - 1 - length);
        if (n > 0) {
            length += (size_t)n;
            if (length == sizeof message - 1) break;
        } else if (!(n < 0 && errno == EINTR)) {
            break;
        }
    }
    close(pipe_fds[0]);
    message[length] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        snprintf(error, error_size, "it crashed while loading (%s)", strsignal(WTERMSIG(status)));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(error, error_size, "%s", length ? message : "it exited while loading");
        return -1;
    }
    return 0;
}

static void load_plugins(server *s, th_reader *r) {
    uint32_t count = th_get_u32(r);
    if (r->failed || count > 100000) _exit(70);
    s->plugins.plugins = calloc(count ? count : 1, sizeof(th_loaded_plugin));
    s->plugins.count = count;
    th_buf reply;
    th_buf_init(&reply);
    size_t start = th_frame_begin(&reply, TH_MSG_PLUGINS);
    th_buf_put_u32(&reply, count);
    for (uint32_t i = 0; i < count; i++) {
        char *path = th_get_str_dup(r);
        if (!path || r->failed) _exit(70);
        char error[1200];
        const th_plugin *plugin = NULL;
        int exported = th_elf_exports(path, TH_ENTRY_SYMBOL);
        if (exported < 0) {
            snprintf(error, sizeof error, "it cannot be read: %s", strerror(errno));
        } else if (exported == 0) {
            snprintf(error, sizeof error, "it has no entry symbol '%s', so it is not a TaskHost plugin",
                     TH_ENTRY_SYMBOL);
        } else if (probe_plugin(path, error, sizeof error) == 0) {
            void *handle;
            plugin = open_plugin(path, &handle, error, sizeof error);
        }
        th_loaded_plugin *loaded = &s->plugins.plugins[i];
        if (plugin) {
            loaded->calls = calloc(plugin->task_count ? plugin->task_count : 1, sizeof(th_call));
            for (uint32_t t = 0; plugin && t < plugin->task_count; t++) {
                if (th_call_prepare(&loaded->calls[t], th_plugin_task(plugin, t)) != 0) {
                    snprintf(error, sizeof error, "task '%s' has a signature libffi cannot call",
                             th_plugin_task(plugin, t)->name);
                    plugin = NULL;
                }
            }
        }
        loaded->descriptor = plugin;
        th_buf_put_u8(&reply, plugin ? 1 : 0);
        if (plugin) th_plugin_serialize(&reply, plugin);
        else th_buf_put_str(&reply, error);
        free(path);
    }
    th_frame_end(&reply, start);
    send_frame(s, &reply, NULL, 0);
    th_buf_free(&reply);
}

/* ---- workers --------------------------------------------------------- */

static void remember_worker(server *s, pid_t pid) {
    if (s->worker_count == s->worker_capacity) {
        size_t capacity = s->worker_capacity ? s->worker_capacity * 2 : 16;
        pid_t *grown = realloc(s->workers, capacity * sizeof(pid_t));
        if (!grown) _exit(71);
        s->workers = grown;
        s->worker_capacity = capacity;
    }
    s->workers[s->worker_count++] = pid;
}

static int forget_worker(server *s, pid_t pid) {
    for (size_t i = 0; i < s->worker_count; i++) {
        if (s->workers[i] == pid) {
            s->workers[i] = s->workers[--s->worker_count];
            return 1;
        }
    }
    return 0;
}

static void reply_spawned(server *s, uint32_t request, pid_t pid, const char *error, const int *fds, int fd_count) {
    th_buf reply;
    th_buf_init(&reply);
    size_t start = th_frame_begin(&reply, TH_MSG_SPAWNED);
    th_buf_put_u32(&reply, request);
    th_buf_put_u32(&reply, (uint32_t)pid);
    th_buf_put_str(&reply, error);
    th_frame_end(&reply, start);
    send_frame(s, &reply, fds, fd_count);
    th_buf_free(&reply);
}

/* Forks a worker that sets itself up and then waits, on its request pipe,
 * for its settings. Returns 0, or -1 with `error` filled in. */
static int fork_worker(server *s, fresh_worker *w, char *error, size_t error_size) {
    int requests[2] = {-1, -1}, results[2] = {-1, -1};
    int page_fd = memfd_create("taskhost-worker-page", MFD_CLOEXEC);
    th_worker_page *page = MAP_FAILED;
    if (page_fd >= 0 && ftruncate(page_fd, TH_WORKER_PAGE_SIZE) == 0)
        page = mmap(NULL, TH_WORKER_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, page_fd, 0);
    pid_t pid = -1;
    if (page == MAP_FAILED || pipe2(requests, O_CLOEXEC) != 0 || pipe2(results, O_CLOEXEC) != 0) {
        snprintf(error, error_size, "cannot create a worker's pipes: %s", strerror(errno));
    } else {
        /* Big pipes let a worker stream results without waiting for the host. */
        fcntl(results[1], F_SETPIPE_SZ, 1 << 20);
        fcntl(requests[1], F_SETPIPE_SZ, 1 << 20);
        pid = fork();
        if (pid < 0) snprintf(error, error_size, "cannot fork a worker: %s", strerror(errno));
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int keep[2] = {requests[0], results[1]};
        th_worker_setup(keep, 2, page);
        th_worker_run(&s->plugins, requests[0], results[1], page);
    }
    if (page != MAP_FAILED) munmap(page, TH_WORKER_PAGE_SIZE);
    if (requests[0] >= 0) close(requests[0]);
    if (results[1] >= 0) close(results[1]);
    w->pid = pid > 0 ? pid : 0;
    w->request = requests[1];
    w->result = results[0];
    w->page_fd = page_fd;
    if (pid > 0) return 0;
    close_fresh(w);
    return -1;
}

static void spawn_worker(server *s, th_reader *r) {
    uint32_t request = th_get_u32(r);
    uint64_t memory_limit = th_get_u64(r);
    uint8_t task_output = th_get_u8(r);
    uint32_t first_length = 0;
    const uint8_t *first = (const uint8_t *)th_get_str(r, &first_length);
    if (r->failed) _exit(70);

    /* The worker's settings, then whatever requests came along. */
    th_buf start;
    th_buf_init(&start);
    size_t frame = th_frame_begin(&start, TH_MSG_SETTINGS);
    th_buf_put_u64(&start, memory_limit);
    th_buf_put_u8(&start, task_output);
    th_frame_end(&start, frame);
    th_buf_put(&start, first, first_length);
    if (start.failed) _exit(71);

    fresh_worker w;
    char error[256] = "";
    if (fork_worker(s, &w, error, sizeof error) != 0 || th_write_all(w.request, start.data, start.length) != 0) {
        if (!*error) snprintf(error, sizeof error, "a new worker died before it started");
        if (w.pid > 0) kill(w.pid, SIGKILL);
        close_fresh(&w);
        reply_spawned(s, request, 0, error, NULL, 0);
        th_buf_free(&start);
        return;
    }
    th_buf_free(&start);
    remember_worker(s, w.pid);
    int fds[3] = {w.request, w.result, w.page_fd};
    reply_spawned(s, request, w.pid, "", fds, 3);
    close_fresh(&w);
}

static void kill_worker(server *s, pid_t pid) {
    for (size_t i = 0; i < s->worker_count; i++) {
        if (s->workers[i] == pid) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            return;
        }
    }
}

static void reap_workers(server *s) {
    struct signalfd_siginfo info;
    while (read(s->signal_fd, &info, sizeof info) > 0) {
    }
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (!forget_worker(s, pid)) continue;
        kill(-pid, SIGKILL); /* whatever the worker left behind in its group */
        th_buf note;
        th_buf_init(&note);
        size_t start = th_frame_begin(&note, TH_MSG_EXITED);
        th_buf_put_u32(&note, (uint32_t)pid);
        th_buf_put_u32(&note, (uint32_t)status);
        th_frame_end(&note, start);
        send_frame(s, &note, NULL, 0);
        th_buf_free(&note);
    }
}

static void handle_message(server *s, size_t length) {
    uint32_t body;
    uint8_t type;
    if (th_frame_header(s->message, length, &body, &type) != 1 || body != length - TH_FRAME_HEADER_SIZE) _exit(70);
    th_reader r;
    th_reader_init(&r, s->message + TH_FRAME_HEADER_SIZE, body);
    switch (type) {
    case TH_MSG_LOAD: load_plugins(s, &r); break;
    case TH_MSG_SPAWN: spawn_worker(s, &r); break;
    case TH_MSG_KILL: kill_worker(s, (pid_t)th_get_u32(&r)); break;
    default: _exit(70);
    }
}

int th_forkserver_main(int socket_fd) {
    server s;
    memset(&s, 0, sizeof s);
    s.socket_fd = socket_fd;
    s.message = malloc(TH_SERVER_MESSAGE_MAX);
    if (!s.message) return 71;

    /* A runtime linked into this executable may have installed crash
     * handlers; plugins' probes and workers must die of their signals. */
    for (int signo = 1; signo < SIGRTMIN; signo++)
        if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole group; the host decides */
    signal(SIGPIPE, SIG_IGN);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, NULL);
    s.signal_fd = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.signal_fd < 0) return 71;

    for (;;) {
        struct pollfd fds[2] = {{s.socket_fd, POLLIN, 0}, {s.signal_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) reap_workers(&s);
        if (fds[0].revents) {
            int passed[4];
            int passed_count;
            ssize_t n = th_receive_message(s.socket_fd, s.message, TH_SERVER_MESSAGE_MAX, passed, &passed_count, 4);
            for (int i = 0; i < passed_count; i++) close(passed[i]);
            if (n <= 0) {
                if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
                break; /* the host is gone */
            }
            handle_message(&s, (size_t)n);
        }
    }
    for (size_t i = 0; i < s.worker_count; i++) {
        kill(-s.workers[i], SIGKILL);
        kill(s.workers[i], SIGKILL);
    }
    return 0;
}
