/*
 * th_server.h — the fork server's state, shared by its parts: the main loop
 * and spawning (forkserver.c), its live workers (server_workers.c: remembered,
 * killed, their ends noticed) and the spare worker (spare.c).
 */
#ifndef TH_SERVER_H
#define TH_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "th_ipc.h"
#include "th_loader.h"
#include "th_wire.h"
#include "th_worker_fork.h"

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/* The server's own spare exists only where it reaps workers itself (kernels
 * before 6.15): where exits go to the host through pidfds, the host keeps its
 * spares (bare workers, SpareWorker.swift) and the server forks none.
 *
 * A spare is kept while an unsandboxed single process runs, and this long
 * after the last one ended: a caller starting processes one after another
 * finds the next one forked already; one that stops starting them is left
 * nothing behind. */
#define SPARE_KEEP_NS (100u * 1000000u)

/* The spare is forked once the newest single process has run this long, or
 * has ended: forked beside a process that lives a few hundred microseconds,
 * it would hold up that process's exit report (the server reaps after the
 * fork). */
#define SPARE_DELAY_NS 1000000u

/* A worker handed to the host: its pid, its pidfd (-1 when exits are reaped
 * by waitpid), and whether it is a single process that could have taken the
 * spare. */
typedef struct th__live_worker {
    pid_t pid;
    int pidfd;
    int single;
} th__live_worker;

typedef struct th__server {
    int socket_fd;
    int signal_fd;
    th__plugin_set plugins;
    th__live_worker *workers;
    size_t worker_count;
    size_t worker_capacity;
    size_t singles; /* workers[] with `single` set */
    th__frame_receiver receiver;
    /* A generic worker forked ahead, while the last process runs or just
     * after it ended, for the next unsandboxed single process (pid 0: none).
     * Wanted while `singles` is not 0 or `spare_until` (monotonic ns) is
     * ahead; not made again after one failed, died, or a shared object
     * came or went (`spare_blocked`), until the next single process. */
    th__fresh_worker spare;
    uint64_t spare_until;
    uint64_t newest_single; /* monotonic ns when the newest single process was handed over */
    int spare_blocked;
    /* How workers' ends are learnt (decided once the plugins are in): 1 when
     * the kernel reaps them at once (SA_NOCLDWAIT) and the host and the server
     * watch each one's pidfd, reading its status from it (th_pidfd.h); 0 when
     * the server reaps them with waitpid and sends each status (TH_MSG_EXITED). */
    int exits_by_pidfd;
    int pidfd_exits_usable; /* this kernel can, and the host did not ask for waitpid */
    int loaded;    /* the plugins are in: TH_MSG_LOAD came and went */
    int host_gone; /* a send failed: stop serving, clean up, exit */
} th__server;

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t th__monotonic_ns(void);

/* ---- live workers (server_workers.c) ---- */

/** Remembers a worker handed to the host, with its pidfd (the server's copy, now owned here; -1: none). */
void th__remember_worker(th__server *s, pid_t pid, int pidfd, int single);

/** Forgets a worker that ended (closing its pidfd): 1, or 0 when `pid` was none of them. */
int th__forget_worker(th__server *s, pid_t pid);

/** SIGKILLs a live worker (and its group) on the host's request; others are ignored. */
void th__kill_worker(th__server *s, pid_t pid);

/** With exits by pidfd: forgets the workers (and the spare) whose pidfds say they ended. */
void th__forget_ended_workers(th__server *s);

/* ---- the spare (spare.c) ---- */

/** Kills the spare, if any. */
void th__spare_discard(th__server *s);

/** Forks the spare (on failure, none until the next single process). */
void th__spare_make(th__server *s);

/**
 * The main loop's poll timeout for the spare: 0 when one should be made
 * now, else -1 or the milliseconds until that may change. Kills the spare
 * once it is no longer wanted.
 */
int th__spare_poll_timeout(th__server *s);

/**
 * Takes the spare as the worker for `start`: 1, or 0 when there is none
 * alive. With `late` the caller writes `start` itself, after the reply.
 */
int th__spare_take(th__server *s, th__fresh_worker *w, const th__buf *start, int late);

TH__INTERNAL_END

#endif /* TH_SERVER_H */
