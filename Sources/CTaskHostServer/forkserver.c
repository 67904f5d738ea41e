/* The fork server (see th_forkserver.h and the messages in th_protocol.h). */
#include "th_forkserver.h"

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

#include "th_ipc.h"
#include "th_loader.h"
#include "th_sandbox.h"
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
    th__plugin_set plugins;
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

static void send_frame(server *s, th__buf *buf, const int *fds, int fd_count) {
    if (buf->failed || th__send_message(s->socket_fd, buf->data, buf->length, fds, fd_count) != 0) {
        /* The host is gone or unreachable: nothing left to serve. */
        _exit(0);
    }
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
    th__buf reply;
    th__buf_init(&reply);
    size_t start = th__frame_begin(&reply, TH_MSG_SPAWNED);
    th__buf_put_u32(&reply, request);
    th__buf_put_u32(&reply, (uint32_t)pid);
    th__buf_put_str(&reply, error);
    th__frame_end(&reply, start);
    send_frame(s, &reply, fds, fd_count);
    th__buf_free(&reply);
}

/* Forks a worker that sets itself up, enters its sandbox if it has one,
 * and then waits, on its request pipe, for its settings. Returns 0, or -1
 * with `error` filled in. */
static int fork_worker(server *s, fresh_worker *w, const th__sandbox_prepared *sandbox, char *error,
                       size_t error_size) {
    int requests[2] = {-1, -1}, results[2] = {-1, -1};
    int page_fd = memfd_create("taskhost-worker-page", MFD_CLOEXEC);
    th__worker_page *page = MAP_FAILED;
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
        int keep[3] = {requests[0], results[1], sandbox ? sandbox->ruleset_fd : -1};
        th__worker_setup(keep, sandbox ? 3 : 2, page);
        if (sandbox) {
            th__worker_keep_statm();
            char why[256];
            if (th__sandbox_enter(sandbox, page, why, sizeof why) != 0) {
                /* Never run a task unsandboxed that was meant to be sandboxed. */
                dprintf(2, "taskhost: a worker could not enter its sandbox: %s\n", why);
                _exit(70);
            }
            close(sandbox->ruleset_fd);
        }
        th__worker_run(&s->plugins, requests[0], results[1], page);
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

static void spawn_worker(server *s, th__reader *r) {
    uint32_t request = th__get_u32(r);
    uint64_t memory_limit = th__get_u64(r);
    uint8_t task_output = th__get_u8(r);
    th__sandbox_request sandbox;
    if (th__sandbox_request_read(r, &sandbox) != 0) _exit(70);
    uint32_t first_length = 0;
    const uint8_t *first = (const uint8_t *)th__get_str(r, &first_length);
    if (r->failed) _exit(70);

    /* The worker's settings, then whatever requests came along. */
    th__buf start;
    th__buf_init(&start);
    size_t frame = th__frame_begin(&start, TH_MSG_SETTINGS);
    th__buf_put_u64(&start, memory_limit);
    th__buf_put_u8(&start, task_output);
    th__frame_end(&start, frame);
    th__buf_put(&start, first, first_length);
    if (start.failed) _exit(71);

    fresh_worker w = {.pid = 0, .request = -1, .result = -1, .page_fd = -1};
    char error[1200] = "";
    th__sandbox_prepared prepared;
    int prepare = sandbox.sandboxed ? th__sandbox_prepare(&sandbox.rules, &prepared, error, sizeof error) : 0;
    th__sandbox_request_free(&sandbox);
    if (prepare != 0 || fork_worker(s, &w, sandbox.sandboxed ? &prepared : NULL, error, sizeof error) != 0 ||
        th__write_all(w.request, start.data, start.length) != 0) {
        if (!*error) snprintf(error, sizeof error, "a new worker died before it started");
        if (w.pid > 0) kill(w.pid, SIGKILL);
        close_fresh(&w);
        reply_spawned(s, request, 0, error, NULL, 0);
        th__buf_free(&start);
        return;
    }
    th__buf_free(&start);
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
        th__buf note;
        th__buf_init(&note);
        size_t start = th__frame_begin(&note, TH_MSG_EXITED);
        th__buf_put_u32(&note, (uint32_t)pid);
        th__buf_put_u32(&note, (uint32_t)status);
        th__frame_end(&note, start);
        send_frame(s, &note, NULL, 0);
        th__buf_free(&note);
    }
}

static void handle_message(server *s, size_t length) {
    uint32_t body;
    uint8_t type;
    if (th__frame_header(s->message, length, &body, &type) != 1 || body != length - TH_FRAME_HEADER_SIZE) _exit(70);
    th__reader r;
    th__reader_init(&r, s->message + TH_FRAME_HEADER_SIZE, body);
    switch (type) {
    case TH_MSG_LOAD: {
        th__buf reply;
        th__buf_init(&reply);
        if (th__load_plugins(&s->plugins, &r, &reply) != 0) _exit(70);
        th__sandbox_forget_prepared(); /* the files mapped have changed */
        send_frame(s, &reply, NULL, 0);
        th__buf_free(&reply);
        break;
    }
    case TH_MSG_SPAWN: spawn_worker(s, &r); break;
    case TH_MSG_KILL: kill_worker(s, (pid_t)th__get_u32(&r)); break;
    default: _exit(70);
    }
}

int th__forkserver_main(int socket_fd) {
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
            ssize_t n = th__receive_message(s.socket_fd, s.message, TH_SERVER_MESSAGE_MAX, passed, &passed_count, 4);
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
