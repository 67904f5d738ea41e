/*
 * th_worker_fork.h — how the fork server forks a worker: its shared page
 * and pipes made, its first requests written ahead when they fit, and the
 * child set up (and sandboxed) before it waits for them.
 */
#ifndef TH_WORKER_FORK_H
#define TH_WORKER_FORK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "th_sandbox.h"
#include "th_worker.h"

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** A forked worker not yet handed to the host: its pid and the host's ends. */
typedef struct th__fresh_worker {
    pid_t pid;   /**< 0: none */
    int request; /**< write end of its request pipe */
    int result;  /**< read end of its result pipe */
    int page_fd; /**< its shared page (a memfd) */
    int pidfd;   /**< its pidfd, when the server watches exits through pidfds; else -1 */
} th__fresh_worker;

/** A worker with no process and no descriptors. */
void th__fresh_worker_clear(th__fresh_worker *w);

/** Closes the host's ends (the process, if any, is the caller's) and clears `w`. */
void th__fresh_worker_close(th__fresh_worker *w);

/** SIGKILLs a worker's process group and the worker (through `pidfd` when not -1). */
void th__kill_process(pid_t pid, int pidfd);

/**
 * Forks a worker running `plugins` that sets itself up, enters `sandbox`
 * (NULL: none), and waits on its request pipe for its settings. `start`
 * (its settings and first requests; NULL: none yet) is written into the
 * pipe before the fork when the pipe holds it, else right after. With
 * `with_pidfd` (the server's children are reaped by the kernel) its pidfd
 * is opened right after the fork, before `start` is written: a worker can't
 * end before it has been given its requests, unless its setup fails. Returns
 * 0, or -1 with `error` filled in and nothing left behind.
 */
int th__fork_worker(th__plugin_set *plugins, th__fresh_worker *w, const th__sandbox_prepared *sandbox,
                    const uint8_t *start, size_t start_length, int with_pidfd, char *error, size_t error_size);

TH__INTERNAL_END

#endif /* TH_WORKER_FORK_H */
