/*
 * th_protocol.h — the messages between host, fork server and workers: their
 * types (one list, TH__MESSAGE_TYPES) and, for each, its layout written once
 * as a C struct with a _put (a whole frame appended to a buffer) and a _get
 * (from a frame body; 0, or -1 when malformed). Both sides call these — the
 * C server and worker directly, the Swift host through C interop.
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
 * Host <-> fork server: frames over a SOCK_SEQPACKET socket. A frame longer
 * than TH_PIECE_MAX bytes travels as TH_MSG_PIECE messages whose bodies,
 * concatenated, are the frame (header included); descriptors ride on the
 * last piece. So no message has a size ceiling but the frame's own.
 *   TH_MSG_LOAD     host -> server  u32 count, per file: str path
 *   TH_MSG_LOADING  server -> host  u32 index: the server is about to open
 *                                    file `index` (the checkpoint that names
 *                                    the culprit if the server dies or hangs)
 *   TH_MSG_PLUGIN   server -> host  u32 index, u8 loaded, then either str
 *                                    error, or the descriptor (below)
 *   TH_MSG_PLUGINS  server -> host  u32 count: every file has its PLUGIN,
 *                                    loading is over
 *   TH_MSG_SPAWN    host -> server  u32 request, u64 memory limit (0 none),
 *                                    u8 task output (TH_OUTPUT_*), u8 bare
 *                                    (1: no settings written, the host
 *                                    writes them: its spare), the sandbox: u8 sandboxed, u32 count and str
 *                                    paths to read, u32 count and str paths
 *                                    to write (th_sandbox.h); u32 length
 *                                    and bytes of the worker's first requests
 *                                    (a single process's RUN and QUIT), which
 *                                    the server writes into its request pipe
 *                                    after the settings
 *   TH_MSG_SPAWNED  server -> host  u32 request, i32 pid (0 on failure), str
 *                                    error; SCM_RIGHTS: request pipe's write
 *                                    end, result pipe's read end, page memfd,
 *                                    and the worker's pidfd where the server
 *                                    reports exits that way (th_pidfd.h)
 *   TH_MSG_KILL     host -> server  i32 pid: SIGKILL its process group
 *   TH_MSG_EXITED   server -> host  i32 pid, i32 wait status (only for a
 *                                    worker whose SPAWNED came without a pidfd)
 *   TH_MSG_SHARE    host -> server  u32 object id; SCM_RIGHTS: the object's
 *                                    memfd, which the server maps (and
 *                                    closes) so workers forked later inherit
 *                                    the mapping (th_shared_core.h)
 *   TH_MSG_UNSHARE  host -> server  u32 object id: the server unmaps it
 *
 * A descriptor (inside TH_MSG_PLUGIN): str name, str version, str summary,
 * u32 task count, per task: str name, str summary, u8 result, u32 flags, u32
 * param count, per param: str name, u8 type.
 */
#ifndef TH_PROTOCOL_H
#define TH_PROTOCOL_H

#include <stdint.h>

#include "th_visibility.h"
#include "th_wire.h"

/* Every message type: XX(NAME, number, "name in messages"). */
#define TH__MESSAGE_TYPES(XX)                     \
    XX(RUN, 1, "run")                             \
    XX(QUIT, 2, "quit")                           \
    XX(RUN_PACKED, 3, "packed run")               \
    XX(SETTINGS, 4, "settings")                   \
    XX(RESULTS, 16, "results")                    \
    XX(PACKED_RESULTS, 17, "packed results")      \
    XX(LOAD, 32, "load")                          \
    XX(PLUGINS, 33, "end of plugins")             \
    XX(SPAWN, 34, "spawn")                        \
    XX(SPAWNED, 35, "spawned")                    \
    XX(KILL, 36, "kill")                          \
    XX(EXITED, 37, "exited")                      \
    XX(LOADING, 38, "loading")                    \
    XX(PLUGIN, 39, "plugin")                      \
    XX(PIECE, 40, "piece")                        \
    XX(SHARE, 41, "share")                        \
    XX(UNSHARE, 42, "unshare")

enum {
#define TH__MESSAGE_ENUM(NAME, NUMBER, TEXT) TH_MSG_##NAME = NUMBER,
    TH__MESSAGE_TYPES(TH__MESSAGE_ENUM)
#undef TH__MESSAGE_ENUM
};

/* The largest message on the fork server's socket; longer frames go in pieces. */
#define TH_PIECE_MAX 65536u

enum { TH_ITEM_OK = 0, TH_ITEM_ERROR = 1 };

/** The most parameters a task may declare (plugin.h). */
#define TH_MAX_PARAMS 32
/** The most tasks a plugin may declare (plugin.h). */
#define TH_MAX_TASKS 4096

/** Where a worker's own stdout goes. Its stderr is always the host's. */
enum { TH_OUTPUT_STDERR = 0, TH_OUTPUT_STDOUT = 1 };

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

/*
 * The worker's side: one more item started or finished, as an atomic store
 * (release-ordered, the pair of the host's acquire loads). The worker is
 * each counter's only writer, so a load and a store suffice: no locked
 * read-modify-write in its tight loops (on x86 both are plain moves).
 */
static inline void th__page_count(volatile uint64_t *counter) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

TH__INTERNAL_BEGIN

/** A message type's name for error messages ("spawned"), or "unknown". */
const char *th__message_name(uint8_t type);

/* ---- one struct, one _put and one _get per message ------------------- */
/* Strings and bytes a _get returns point into the frame body. */

typedef struct th__msg_settings {
    uint64_t memory_limit; /**< bytes of address space, 0 for none */
    uint8_t task_output;   /**< TH_OUTPUT_STDERR or TH_OUTPUT_STDOUT */
} th__msg_settings;
void th__msg_settings_put(th__buf *buf, const th__msg_settings *m);
int th__msg_settings_get(th__reader *body, th__msg_settings *m);

/** The header of TH_MSG_RUN and TH_MSG_RUN_PACKED; the items follow. */
typedef struct th__msg_run {
    uint32_t plugin;
    uint32_t task;
    uint32_t count;
} th__msg_run;
/** Begins a RUN or RUN_PACKED frame; returns the offset for th__frame_end. */
size_t th__msg_run_begin(th__buf *buf, uint8_t type, const th__msg_run *m);
int th__msg_run_get(th__reader *body, th__msg_run *m);

/**
 * TH_MSG_RESULTS: a count, then per item its status and a value or an error.
 * The count is written when the frame is finished (th__msg_results_finish),
 * so items can be appended as they come.
 */
typedef struct th__msg_results {
    uint32_t count;
} th__msg_results;
/** Begins a RESULTS frame with count 0; returns the offset for th__msg_results_finish. */
size_t th__msg_results_begin(th__buf *buf);
void th__msg_result_put_value(th__buf *buf, const th__wire_value *value);
void th__msg_result_put_error(th__buf *buf, const char *message);
/** Writes the count and ends the frame begun at `start`. */
void th__msg_results_finish(th__buf *buf, size_t start, uint32_t count);
int th__msg_results_get(th__reader *body, th__msg_results *m);

/** One item of a RESULTS frame. */
typedef struct th__msg_result {
    uint8_t ok;            /**< 1: `value`; 0: `error` */
    th__wire_value value;  /**< points into the body */
    const char *error;
    uint32_t error_length;
} th__msg_result;
/** Reads the next item. 0, or -1 when malformed (unknown status, bad value). */
int th__msg_result_get(th__reader *body, th__msg_result *m);

/**
 * TH_MSG_PACKED_RESULTS: a count and an error count (written when finished),
 * `count` raw payloads, then per error its position in this frame and its
 * message, positions increasing.
 */
typedef struct th__msg_packed_results {
    uint32_t count;
    uint32_t error_count;
    const uint8_t *payloads; /**< count * width bytes, in the body */
} th__msg_packed_results;
/** Begins a PACKED_RESULTS frame; returns the offset for th__msg_packed_results_finish. */
size_t th__msg_packed_results_begin(th__buf *buf);
/** Appends the errors (built with th__msg_packed_error_put), writes the counts, ends the frame. */
void th__msg_packed_results_finish(th__buf *buf, size_t start, uint32_t count, const th__buf *errors,
                                   uint32_t error_count);
void th__msg_packed_error_put(th__buf *errors, uint32_t position, const char *message);
/** Reads the counts and takes the payloads of `width` bytes each. 0, or -1. */
int th__msg_packed_results_get(th__reader *body, uint32_t width, th__msg_packed_results *m);
typedef struct th__msg_packed_error {
    uint32_t position;
    const char *message;
    uint32_t message_length;
} th__msg_packed_error;
int th__msg_packed_error_get(th__reader *body, th__msg_packed_error *m);

/** TH_MSG_LOAD: `count` paths follow, each read with th__msg_load_get_path. */
typedef struct th__msg_load {
    uint32_t count;
    const char *const *paths; /**< for _put */
} th__msg_load;
void th__msg_load_put(th__buf *buf, const th__msg_load *m);
int th__msg_load_get(th__reader *body, th__msg_load *m);
/** The next path of a LOAD body, as a new malloc'd string (NULL when malformed). */
char *th__msg_load_get_path(th__reader *body);

typedef struct th__msg_loading {
    uint32_t index;
} th__msg_loading;
void th__msg_loading_put(th__buf *buf, const th__msg_loading *m);
int th__msg_loading_get(th__reader *body, th__msg_loading *m);

/** TH_MSG_PLUGIN: one file's outcome. When loaded, the descriptor follows
 *  (th__msg_descriptor_get and friends read it). */
typedef struct th__msg_plugin {
    uint32_t index;
    uint8_t loaded;
    const char *error; /**< when not loaded */
    uint32_t error_length;
} th__msg_plugin;
/** Begins a PLUGIN frame; a loaded one's descriptor is appended next
 *  (th__msg_descriptor_put); returns the offset for th__frame_end. */
size_t th__msg_plugin_begin(th__buf *buf, const th__msg_plugin *m);
int th__msg_plugin_get(th__reader *body, th__msg_plugin *m);

/** A plugin's descriptor as it travels; its tasks follow. */
typedef struct th__msg_descriptor {
    const char *name, *version, *summary;
    uint32_t name_length, version_length, summary_length;
    uint32_t task_count;
} th__msg_descriptor;
typedef struct th__msg_task {
    const char *name, *summary;
    uint32_t name_length, summary_length;
    uint8_t result;
    uint32_t flags;
    uint32_t param_count;
} th__msg_task;
typedef struct th__msg_param {
    const char *name;
    uint32_t name_length;
    uint8_t type;
} th__msg_param;
/** Appends a (checked) plugin's descriptor with its tasks and parameters. */
void th__msg_descriptor_put(th__buf *buf, const th_plugin *plugin);
int th__msg_descriptor_get(th__reader *body, th__msg_descriptor *m);
int th__msg_task_get(th__reader *body, th__msg_task *m);
int th__msg_param_get(th__reader *body, th__msg_param *m);
/** The descriptor's i-th task, honouring the plugin's own th_task size. */
const th_task *th__plugin_task(const th_plugin *plugin, uint32_t index);

typedef struct th__msg_plugins {
    uint32_t count;
} th__msg_plugins;
void th__msg_plugins_put(th__buf *buf, const th__msg_plugins *m);
int th__msg_plugins_get(th__reader *body, th__msg_plugins *m);

/** TH_MSG_SPAWN's fixed fields. The worker's sandbox follows them (its
 *  section is the sandbox's own: th_sandbox.h in the server, Sandbox.swift
 *  in the host), then the worker's first requests. */
typedef struct th__msg_spawn {
    uint32_t request;
    uint64_t memory_limit;
    uint8_t task_output;
    /** 1: a bare worker, for the host to keep as the spare for its next
     *  single process: no settings are written (memory_limit and
     *  task_output are unused), the host writes them, then its requests. */
    uint8_t bare;
} th__msg_spawn;
/** Begins a SPAWN frame; append the sandbox, then th__msg_spawn_put_first,
 *  then th__frame_end with the returned offset. */
size_t th__msg_spawn_begin(th__buf *buf, const th__msg_spawn *m);
/** The worker's first requests (a single process's RUN and QUIT frames), or none. */
void th__msg_spawn_put_first(th__buf *buf, const uint8_t *first, uint32_t length);
/** Reads the fixed fields; the sandbox is next. */
int th__msg_spawn_get(th__reader *body, th__msg_spawn *m);
/** Reads the first requests (after the sandbox); they point into the body. */
int th__msg_spawn_get_first(th__reader *body, const uint8_t **first, uint32_t *length);

typedef struct th__msg_spawned {
    uint32_t request;
    int32_t pid; /**< 0 on failure */
    const char *error;
    uint32_t error_length;
} th__msg_spawned;
void th__msg_spawned_put(th__buf *buf, const th__msg_spawned *m);
int th__msg_spawned_get(th__reader *body, th__msg_spawned *m);

typedef struct th__msg_kill {
    int32_t pid;
} th__msg_kill;
void th__msg_kill_put(th__buf *buf, const th__msg_kill *m);
int th__msg_kill_get(th__reader *body, th__msg_kill *m);

/* TH_MSG_SHARE and TH_MSG_UNSHARE: an object's id (SHARE carries its memfd). */
typedef struct th__msg_share {
    uint32_t id;
} th__msg_share;
void th__msg_share_put(th__buf *buf, int type, const th__msg_share *m);
int th__msg_share_get(th__reader *body, th__msg_share *m);

typedef struct th__msg_exited {
    int32_t pid;
    int32_t status; /**< a waitpid() status */
} th__msg_exited;
void th__msg_exited_put(th__buf *buf, const th__msg_exited *m);
int th__msg_exited_get(th__reader *body, th__msg_exited *m);

TH__INTERNAL_END

#endif /* TH_PROTOCOL_H */
