/*
 * th_worker.h — the plugins a fork server holds, and the worker loop that
 * runs their tasks after fork().
 *
 * Everything here runs in a single-threaded process (the fork server or a
 * worker forked from it) and stays C-simple: no threads, no Swift runtime.
 */
#ifndef TH_WORKER_H
#define TH_WORKER_H

#include <stdint.h>

#include "th_call.h"
#include "th_protocol.h"

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** One plugin file as the fork server loaded it. */
typedef struct th__loaded_plugin {
    const th_plugin *descriptor; /**< NULL when the file failed to load */
    th__call *calls;              /**< one prepared call per task */
    int init_state;              /**< 0 not yet run, 1 ready, -1 failed (per worker) */
    char *init_error;
} th__loaded_plugin;

typedef struct th__plugin_set {
    th__loaded_plugin *plugins;
    uint32_t count;
} th__plugin_set;


/**
 * Runs the worker loop: reads its TH_MSG_SETTINGS frame, then TH_MSG_RUN
 * frames from request_fd, runs each item, writes TH_MSG_RESULTS frames to
 * result_fd, counts items in `page`. Returns only by exiting the process: 0
 * on TH_MSG_QUIT or end of input, 70 on a malformed request or a broken
 * result pipe.
 */
_Noreturn void th__worker_run(th__plugin_set *set, int request_fd, int result_fd, th__worker_page *page);

/**
 * Prepares a freshly forked worker: own process group, dies with the fork
 * server, no core files, stdin from /dev/null, and every descriptor closed
 * but stdio and `keep`. What differs per worker comes later, in its settings.
 */
void th__worker_setup(const int *keep, int keep_count, th__worker_page *page);

/**
 * Opens /proc/self/statm for good, for the memory-limit death detector of
 * a worker about to enter its sandbox (which denies /proc). After setup.
 */
void th__worker_keep_statm(void);

/**
 * A spare worker's warm-up while it waits for its settings: the first write
 * to each page of its stack, heap and C library state copies the fork
 * server's page (a fault each, several microseconds on a VM), made here
 * rather than on the path of the task it will be given.
 */
void th__worker_warm_up(void);

/** Applies a worker's settings: its memory limit and where its stdout goes. */
void th__worker_apply_settings(const th__msg_settings *settings);

TH__INTERNAL_END

#endif /* TH_WORKER_H */
