/*
 * th_spawn.h — starting the fork server from the host (posix_spawn, an
 * exec: the host has threads, so it must never fork itself) and finding
 * the binary the host's code lives in, beside which the server is found.
 */
#ifndef TH_SPAWN_H
#define TH_SPAWN_H

#include <sys/types.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/**
 * Starts the fork server executable at `path` with `socket_fd` as its
 * descriptor 3, `output_fd` (where plugins print while they load) as 4,
 * stdin from /dev/null, stdout and stderr inherited, this process's pid as
 * its argument, and this process's environment plus LD_BIND_NOW=1.
 * `exits_by_waitpid`: the server reaps workers and reports their exits
 * itself even where the kernel could report them through pidfds (the path
 * of kernels before 6.15; th_forkserver.h). Returns its pid, or -1 with errno.
 */
pid_t th__spawn_server(const char *path, int socket_fd, int output_fd, int exits_by_waitpid);

/** The path of the binary (executable or shared library) holding this code, or NULL. */
const char *th__library_path(void);

TH__INTERNAL_END

#endif /* TH_SPAWN_H */
