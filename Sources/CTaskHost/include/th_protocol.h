/*
 * th_protocol.h — the messages between host, fork server and workers.
 *
 * Host <-> worker: frames (th_wire.h) over two pipes.
 *   TH_MSG_RUN      host -> worker  u32 plugin, u32 task, u32 item count, then
 *                                    for each item its arguments as values
 *   TH_MSG_SETTINGS server -> worker  u64 memory limit (0 none), u8 task
 *                                    output (TH_OUTPUT_*): the first frame
 *                                    every worker reads, exactly once
 *   TH_MSG_QUIT     host -> worker  (empty) finish: run fini hooks and exit 0
 *   TH_MSG_RESULTS  worker -> host  u32 count, then per item u8 status
 *                                    (TH_ITEM_OK: a value; TH_ITEM_ERROR: a string)
 *   TH_MSG_RUN_PACKED      host -> worker  u32 plugin, u32 task, u32 item
 *                          count, then one column per parameter: count raw
 *                          payloads back to back (th__packed_width bytes each).
 *                          Only for tasks whose parameters and result are all
 *                          fixed-size (th__task_packable).
 *   TH_MSG_PACKED_RESULTS  worker -> host  u32 count, u32 error count, count
 *                          raw result payloads (zero where the item failed),
 *                          then per error u32 position in this frame, str message
 *
 * Host <-> fork server: one frame per SOCK_SEQPACKET message.
 *   TH_MSG_LOAD     host -> server  u32 count, per file: str path
 *   TH_MSG_PLUGINS  server -> host  u32 count, per file: u8 loaded, then either
 *                                    str error, or the descriptor (th_descriptor_check.h)
 *   TH_MSG_SPAWN    host -> server  u32 request, u64 memory limit (0 none),
 *                                    u8 task output (TH_OUTPUT_*), the
 *                                    sandbox: u8 sandboxed, u32 count and str
 *                                    paths to read, u32 count and str paths
 *                                    to write (th_sandbox.h); u32 length
 *                                    and bytes of the worker's first requests
 *                                    (a single process's RUN and QUIT), which
 *                                    the server writes into its request pipe
 *                                    after the settings
 *   TH_MSG_SPAWNED  server -> host  u32 request, i32 pid (0 on failure), str
 *                                    error; SCM_RIGHTS: request pipe's write
 *                                    end, result pipe's read end, page memfd
 *   TH_MSG_KILL     host -> server  i32 pid: SIGKILL its process group
 *   TH_MSG_EXITED   server -> host  i32 pid, i32 wait status
 */
#ifndef TH_PROTOCOL_H
#define TH_PROTOCOL_H

#include <stdint.h>

#include "th_visibility.h"

enum {
    TH_MSG_RUN = 1,
    TH_MSG_QUIT = 2,
    TH_MSG_RUN_PACKED = 3,
    TH_MSG_SETTINGS = 4,
    TH_MSG_RESULTS = 16,
    TH_MSG_PACKED_RESULTS = 17,
    TH_MSG_LOAD = 32,
    TH_MSG_PLUGINS = 33,
    TH_MSG_SPAWN = 34,
    TH_MSG_SPAWNED = 35,
    TH_MSG_KILL = 36,
    TH_MSG_EXITED = 37,
};

enum { TH_ITEM_OK = 0, TH_ITEM_ERROR = 1 };

/** The most parameters a task may declare (plugin.h). */
#define TH_MAX_PARAMS 32
/** The most tasks a plugin may declare (plugin.h). */
#define TH_MAX_TASKS 4096

/** Where a worker's own stdout goes. Its stderr is always the host's. */
enum { TH_OUTPUT_STDERR = 0, TH_OUTPUT_STDOUT = 1 };

/** The largest fork-server message. */
#define TH_SERVER_MESSAGE_MAX 4194304

/**
 * A page of memory each worker shares with the host. The worker counts the
 * items it starts and finishes; the host reads the counters to know which
 * item a dead worker was running and how long the current one has run.
 * Worker-written, so the host treats every field as untrusted.
 */
typedef struct th__worker_page {
    volatile uint64_t started;   /**< items started since the worker began */
    volatile uint64_t finished;  /**< items finished since the worker began */
    volatile uint32_t memory_exhausted; /**< set when the worker died near its memory limit */
    volatile uint32_t reserved;
    /** Set by a sandboxed worker as it dies of SIGSYS: the name of the
     *  system call the sandbox stopped (NUL-terminated), else empty. */
    volatile char forbidden_call[32];
} th__worker_page;

#define TH_WORKER_PAGE_SIZE 4096

/*
 * The host's reads of a worker's page: atomic loads (the worker's process
 * writes the counters while the host reads them), acquire-ordered so a
 * `finished` count is never seen ahead of what it counts.
 */
static inline uint64_t th__page_load_started(const th__worker_page *page) {
    return __atomic_load_n(&page->started, __ATOMIC_ACQUIRE);
}
static inline uint64_t th__page_load_finished(const th__worker_page *page) {
    return __atomic_load_n(&page->finished, __ATOMIC_ACQUIRE);
}
static inline uint32_t th__page_load_memory_exhausted(const th__worker_page *page) {
    return __atomic_load_n(&page->memory_exhausted, __ATOMIC_ACQUIRE);
}

#endif /* TH_PROTOCOL_H */
