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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th_descendants.h"
#include "th_ipc.h"
#include "th_loader.h"
#include "th_sandbox.h"
#include "th_shared_core.h"
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
    th__frame_receiver receiver;
    int loaded;    /* the plugins are in: TH_MSG_LOAD came and went */
    int host_gone; /* a send failed: stop serving, clean up, exit */
} server;

static void close_fresh(fresh_worker *w) {
    int all[] = {w->request, w->result, w->page_fd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] >= 0) close(all[i]);
    memset(w, 0, sizeof *w);
    w->request = w->result = w->page_fd = -1;
}

/* Sends a frame to the host. When the host is gone the server doesn't exit
 * here: it notes it, and the main loop ends by killing everything below it. */
static void send_frame(server *s, th__buf *buf, const int *fds, int fd_count) {
    if (s->host_gone) return;
    if (buf->failed || th__send_frame(s->socket_fd, buf->data, buf->length, fds, fd_count) != 0) s->host_gone = 1;
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
    th__msg_spawned m = {request, pid, error, (uint32_t)strlen(error)};
    th__msg_spawned_put(&reply, &m);
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

static int spawn_worker(server *s, th__reader *r) {
    th__msg_spawn spawn;
    if (th__msg_spawn_get(r, &spawn) != 0) return -1;
    uint32_t request = spawn.request;
    th__sandbox_request sandbox;
    if (th__sandbox_request_read(r, &sandbox) != 0) return -1;
    const uint8_t *first;
    uint32_t first_length;
    if (th__msg_spawn_get_first(r, &first, &first_length) != 0) {
        th__sandbox_request_free(&sandbox);
        return -1;
    }

    /* The worker's settings, then whatever requests came along. */
    th__buf start;
    th__buf_init(&start);
    th__msg_settings settings = {spawn.memory_limit, spawn.task_output};
    th__msg_settings_put(&start, &settings);
    th__buf_put(&start, first, first_length);
    if (start.failed) {
        th__sandbox_request_free(&sandbox);
        th__buf_free(&start);
        reply_spawned(s, request, 0, "out of memory for a worker's first requests", NULL, 0);
        return 0;
    }

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
        return 0;
    }
    th__buf_free(&start);
    remember_worker(s, w.pid);
    int fds[3] = {w.request, w.result, w.page_fd};
    reply_spawned(s, request, w.pid, "", fds, 3);
    close_fresh(&w);
    return 0;
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
        th__msg_exited m = {pid, status};
        th__msg_exited_put(&note, &m);
        send_frame(s, &note, NULL, 0);
        th__buf_free(&note);
    }
}

/* Handles one frame from the host. Returns 0, or -1 when it is malformed. */
static int handle_frame(server *s, const uint8_t *frame, size_t length) {
    uint32_t body;
    uint8_t type;
    if (th__frame_header(frame, length, &body, &type) != 1 || body != length - TH_FRAME_HEADER_SIZE) return -1;
    th__reader r;
    th__reader_init(&r, frame + TH_FRAME_HEADER_SIZE, body);
    switch (type) {
    case TH_MSG_LOAD: {
        if (s->loaded) return -1; /* once per server */
        s->loaded = 1;
        int rc = th__load_plugins(&s->plugins, &r, s->socket_fd);
        th__loading_end();
        th__sandbox_forget_prepared(); /* the files mapped have changed */
        if (rc == TH__LOAD_HOST_GONE) s->host_gone = 1;
        if (rc == TH__LOAD_MUST_RESTART) {
            /* A plugin left a process or a thread behind: this process is no
             * fit parent for workers. The host starts a new server without it. */
            th__kill_descendants();
            _exit(0);
        }
        return rc == TH__LOAD_MALFORMED ? -1 : 0;
    }
    case TH_MSG_SPAWN: return spawn_worker(s, &r);
    case TH_MSG_KILL: {
        th__msg_kill m;
        if (th__msg_kill_get(&r, &m) != 0) return -1;
        kill_worker(s, m.pid);
        return 0;
    }
    case TH_MSG_SHARE: {
        /* An object's memfd: mapped here, so workers forked from now on inherit it. */
        th__msg_share m;
        if (th__msg_share_get(&r, &m) != 0) return -1;
        th__shared_adopt(m.id, s->receiver.fd_count == 1 ? s->receiver.fds[0] : -1);
        return 0;
    }
    case TH_MSG_UNSHARE: {
        th__msg_share m;
        if (th__msg_share_get(&r, &m) != 0) return -1;
        th__shared_close(th__shared_unregister(m.id));
        return 0;
    }
    default: return -1;
    }
}

_Noreturn void th__forkserver_main(int socket_fd, pid_t host, int output_fd) {
    server s;
    memset(&s, 0, sizeof s);
    s.socket_fd = socket_fd;
    if (th__frame_receiver_init(&s.receiver) != 0) _exit(71);

    /* A runtime linked into this executable may have installed crash
     * handlers; plugins and workers must die of their signals. */
    for (int signo = 1; signo < SIGRTMIN; signo++)
        if (signo != SIGKILL && signo != SIGSTOP) signal(signo, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the whole group; the host decides */
    signal(SIGPIPE, SIG_IGN);
    /* Orphans below us (a worker's double-forked, setsid()'d grandchild)
     * become our children, so nothing escapes the sweep at the end. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, NULL);
    s.signal_fd = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.signal_fd < 0) _exit(71);
    th__loading_begin(host, output_fd);

    while (!s.host_gone) {
        struct pollfd fds[2] = {{s.socket_fd, POLLIN, 0}, {s.signal_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) reap_workers(&s);
        if (fds[0].revents) {
            int rc = th__frame_receive(&s.receiver, s.socket_fd);
            int handled = rc == 1 ? handle_frame(&s, s.receiver.frame, s.receiver.frame_length) : 0;
            for (int i = 0; i < s.receiver.fd_count; i++) close(s.receiver.fds[i]);
            if (rc == -1 && (errno == EINTR || errno == EAGAIN)) continue;
            if (rc < 0) break; /* the host is gone, or spoke gibberish */
            if (handled != 0) break;
        }
    }
    /* Everything below us dies with us: workers, their children, orphans. */
    th__kill_descendants();
    _exit(0);
}
