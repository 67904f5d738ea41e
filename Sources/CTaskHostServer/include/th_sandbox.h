/*
 * th_sandbox.h — the opt-in sandbox a worker enters after it is forked and
 * before it runs any task (README "Sandbox").
 *
 *   files      Landlock: read the system's shared libraries, the files the
 *              process has mapped (its plugins and their libraries), locale
 *              and time-zone data and a few devices (nothing of /proc),
 *              plus each read path; write only beneath each write path.
 *              Anything else fails with EACCES. On Landlock ABI 6 and
 *              later, no signals to processes outside the worker either.
 *   network    seccomp: socket() of any family but AF_UNIX stream or
 *              seqpacket, connect, bind, listen, accept and addressed
 *              sendto are forbidden.
 *   processes  seccomp: no new processes (clone without CLONE_THREAD, fork,
 *              vfork; clone3 answers ENOSYS so the C library falls back to
 *              clone), no execve, ptrace, mount, chroot, setuid, modules,
 *              reboot, keyrings, bpf, perf_event_open, userfaultfd,
 *              io_uring, no signal at the fork server, the host, their
 *              process group or -1; no_new_privs set first.
 *
 * A forbidden call is trapped (SIGSYS): the handler writes the call's name
 * into the worker's shared page (th__worker_page.forbidden_call) and the
 * worker dies of SIGSYS, so the host fails the item it was running with
 * kind sandboxViolation and names the call.
 *
 * The work is split so that a worker's start stays cheap: the fork server
 * prepares (the Landlock ruleset, kept per set of rules; the seccomp
 * program, built once by libseccomp), the worker only enters. This is the
 * one part of TaskHost that links libseccomp; it runs in the
 * single-threaded fork server and its workers.
 */
#ifndef TH_SANDBOX_H
#define TH_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#include "th_protocol.h"
#include "th_wire.h"

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** What a sandboxed worker may touch beyond what every worker needs. */
typedef struct th__sandbox_rules {
    const char *const *read_paths; /**< readable (a folder: everything beneath it) */
    uint32_t read_count;
    const char *const *write_paths; /**< readable and writable, created and removed beneath */
    uint32_t write_count;
} th__sandbox_rules;

/**
 * A spawn request's sandbox (th_protocol.h, TH_MSG_SPAWN): u8 sandboxed,
 * then the paths to read and the paths to write, each a u32 count and
 * strings. The paths are the request's own (malloc'd).
 */
typedef struct th__sandbox_request {
    uint8_t sandboxed;
    th__sandbox_rules rules;
} th__sandbox_request;

/** Reads a spawn request's sandbox. 0, or -1 on a malformed one (nothing to free then). */
int th__sandbox_request_read(th__reader *r, th__sandbox_request *request);

/** Frees a request's paths. */
void th__sandbox_request_free(th__sandbox_request *request);

/** What the fork server prepared for a worker to enter. */
typedef struct th__sandbox_prepared {
    int ruleset_fd; /**< a Landlock ruleset, owned by the fork server's cache */
} th__sandbox_prepared;

/**
 * Fork server: readies the sandbox for `rules` — a Landlock ruleset (reused
 * while the same rules name the same files) and, once, the seccomp
 * program. Paths that do not exist are skipped: the worker gets fewer
 * rights, never more. Returns 0, or -1 with the reason in `error`.
 */
int th__sandbox_prepare(const th__sandbox_rules *rules, th__sandbox_prepared *prepared, char *error,
                       size_t error_size);

/** Fork server: forgets every prepared ruleset (after plugins are loaded, the files mapped change). */
void th__sandbox_forget_prepared(void);

/**
 * Worker, freshly forked: locks itself down for the rest of its life —
 * no_new_privs, then the Landlock ruleset, then the SIGSYS handler, then
 * the seccomp program. Returns 0, or -1 with the reason (the worker must
 * then run no task: it is not sandboxed, or only in part).
 */
int th__sandbox_enter(const th__sandbox_prepared *prepared, th__worker_page *page, char *error, size_t error_size);

/* The two halves (sandbox_files.c, sandbox_calls.c). */

/** Builds a Landlock ruleset for `rules`. Returns its descriptor, or -1 with the reason. */
int th__sandbox_build_ruleset(const th__sandbox_rules *rules, char *error, size_t error_size);

/** Builds the seccomp program once (later calls return at once). 0, or -1 with the reason. */
int th__sandbox_build_filter(char *error, size_t error_size);

/** Installs the SIGSYS handler that reports into `page`, then loads the program. 0, or -1. */
int th__sandbox_load_filter(th__worker_page *page, char *error, size_t error_size);

TH__INTERNAL_END

#endif /* TH_SANDBOX_H */
