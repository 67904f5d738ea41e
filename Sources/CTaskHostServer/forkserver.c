/* The fork server (see th_forkserver.h and the messages in th_protocol.h). */
#include "th_forkserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "th_descendants.h"
#include "th_ipc.h"
#include "th_loader.h"
#include "th_pidfd.h"
#include "th_sandbox.h"
#include "th_server.h"
#include "th_shared_core.h"
#include "th_worker.h"
#include "th_worker_fork.h"

/* Sends a frame to the host. When the host is gone the server doesn't exit
 * here: it notes it, and the main loop ends by killing everything below it. */
static void send_frame(th__server *s, th__buf *buf, const int *fds, int fd_count) {
    if (s->host_gone) return;
    if (buf->failed || th__send_frame(s->socket_fd, buf->data, buf->length, fds, fd_count) != 0) s->host_gone = 1;
}

static void reply_spawned(th__server *s, uint32_t request, pid_t pid, const char *error, const int *fds, int fd_count) {
    th__buf reply;
    th__buf_init(&reply);
    th__msg_spawned m = {request, pid, error, (uint32_t)strlen(error)};
    th__msg_spawned_put(&reply, &m);
    send_frame(s, &reply, fds, fd_count);
    th__buf_free(&reply);
}

/* Whether `first` (whole frames) ends with QUIT: then the host sends this
 * worker nothing more of its own, so its first requests may follow the reply. */
static int ends_with_quit(const uint8_t *first, size_t length) {
    uint8_t type = 0;
    for (size_t at = 0; at < length;) {
        uint32_t body;
        if (th__frame_header(first + at, length - at, &body, &type) != 1 || body > length - at - TH_FRAME_HEADER_SIZE)
            return 0;
        at += TH_FRAME_HEADER_SIZE + body;
    }
    return type == TH_MSG_QUIT;
}

/* ---- spawning -------------------------------------------------------- */

static int spawn_worker(th__server *s, th__reader *r) {
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

    /* The worker's settings, then whatever requests came along; nothing
     * for a bare worker (the host's spare: it writes them itself). */
    th__buf start;
    th__buf_init(&start);
    if (!spawn.bare) {
        th__msg_settings settings = {spawn.memory_limit, spawn.task_output};
        th__msg_settings_put(&start, &settings);
        th__buf_put(&start, first, first_length);
    }
    if (start.failed) {
        th__sandbox_request_free(&sandbox);
        th__buf_free(&start);
        reply_spawned(s, request, 0, "out of memory for a worker's first requests", NULL, 0);
        return 0;
    }

    /* Only a single process comes with its first requests (a pool's
     * workers get theirs later): the sign that more may follow. Only an
     * unsandboxed one can take the generic spare. */
    int spare_fits = first_length > 0 && !sandbox.sandboxed;
    if (spare_fits) s->spare_blocked = 0;
    th__fresh_worker w;
    th__fresh_worker_clear(&w);
    char error[1200] = "";
    int late = spare_fits && ends_with_quit(first, first_length);
    int ready = spare_fits && th__spare_take(s, &w, &start, late);
    late = late && ready;
    if (!ready) {
        th__sandbox_prepared prepared;
        int prepare = sandbox.sandboxed ? th__sandbox_prepare(&sandbox.rules, &prepared, error, sizeof error) : 0;
        ready = prepare == 0 && th__fork_worker(&s->plugins, &w, sandbox.sandboxed ? &prepared : NULL,
                                                spawn.bare ? NULL : start.data, start.length, s->exits_by_pidfd,
                                                error, sizeof error) == 0;
    }
    th__sandbox_request_free(&sandbox);
    if (!ready) {
        if (!*error) snprintf(error, sizeof error, "a new worker died before it started");
        reply_spawned(s, request, 0, error, NULL, 0);
        th__buf_free(&start);
        return 0;
    }
    if (spare_fits) s->newest_single = th__monotonic_ns();
    /* With exits by pidfd the host gets the worker's pidfd too, and learns its end from it. */
    int fds[4] = {w.request, w.result, w.page_fd, w.pidfd};
    reply_spawned(s, request, w.pid, "", fds, w.pidfd >= 0 ? 4 : 3);
    /* Handed over: if this fails the spare has just died, and its exit is reported as any worker's. */
    if (late && th__write_all(w.request, start.data, start.length) != 0) th__kill_process(w.pid, w.pidfd);
    th__remember_worker(s, w.pid, w.pidfd, spare_fits);
    w.pidfd = -1; /* the server's copy now lives in workers[] */
    th__buf_free(&start);
    th__fresh_worker_close(&w);
    return 0;
}

static void reap_workers(th__server *s) {
    struct signalfd_siginfo info;
    while (read(s->signal_fd, &info, sizeof info) > 0) {
    }
    if (s->exits_by_pidfd) {
        th__forget_ended_workers(s);
        return;
    }
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == s->spare.pid) {
            /* It died unused: no new one until the next process asks. */
            th__fresh_worker_close(&s->spare);
            s->spare_blocked = 1;
        }
        if (!th__forget_worker(s, pid)) continue;
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
static int handle_frame(th__server *s, const uint8_t *frame, size_t length) {
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
        if (s->pidfd_exits_usable) {
            /* From now on (no child is left from loading) the kernel reaps workers at
             * once; SIGCHLD still comes, through the signalfd, to say one ended. */
            struct sigaction reap;
            memset(&reap, 0, sizeof reap);
            reap.sa_handler = SIG_DFL;
            reap.sa_flags = SA_NOCLDWAIT;
            s->exits_by_pidfd = sigaction(SIGCHLD, &reap, NULL) == 0;
        }
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
        th__kill_worker(s, m.pid);
        return 0;
    }
    case TH_MSG_SHARE: {
        /* An object's memfd: mapped here, so workers forked from now on inherit it. */
        th__msg_share m;
        if (th__msg_share_get(&r, &m) != 0) return -1;
        th__shared_adopt(m.id, s->receiver.fd_count == 1 ? s->receiver.fds[0] : -1);
        th__spare_discard(s); /* forked before: it lacks the object */
        s->spare_blocked = 1; /* objects may come and go with each process (shared:): none till the next */
        return 0;
    }
    case TH_MSG_UNSHARE: {
        th__msg_share m;
        if (th__msg_share_get(&r, &m) != 0) return -1;
        th__shared_close(th__shared_unregister(m.id));
        th__spare_discard(s); /* forked before: it still has the object */
        s->spare_blocked = 1;
        return 0;
    }
    default: return -1;
    }
}

_Noreturn void th__forkserver_main(int socket_fd, pid_t host, int output_fd, int exits_by_waitpid) {
    th__server s;
    memset(&s, 0, sizeof s);
    s.socket_fd = socket_fd;
    s.pidfd_exits_usable = !exits_by_waitpid && th__pidfd_exit_supported();
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

    th__fresh_worker_clear(&s.spare);
    while (!s.host_gone) {
        /* The spare is made when nothing else waits, and killed when no longer wanted. */
        int timeout = s.loaded ? th__spare_poll_timeout(&s) : -1;
        struct pollfd fds[2] = {{s.socket_fd, POLLIN, 0}, {s.signal_fd, POLLIN, 0}};
        int ready = poll(fds, 2, timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (ready == 0) {
            if (timeout == 0) th__spare_make(&s);
            continue;
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
