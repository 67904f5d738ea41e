/*
 * th_forkserver.h — the fork server: a small single-threaded process,
 * started by exec, that loads the plugins once and forks a worker whenever
 * the host asks. Workers inherit the loaded plugins. The host, which is not
 * their parent, learns each one's end and wait status from its pidfd where
 * the kernel reports statuses there (Linux 6.15 and later, th_pidfd.h);
 * elsewhere the server reaps them and sends each status (TH_MSG_EXITED).
 */
#ifndef TH_FORKSERVER_H
#define TH_FORKSERVER_H

#include <sys/types.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/**
 * Serves the host on `socket_fd`: loads the plugins it names (th_loader.h;
 * `host` is the host's pid, `output_fd` where plugins print while loading),
 * then forks workers, until the host closes the socket or can no longer be
 * reached. Then kills everything below it — workers, their children, orphans
 * it inherited as their subreaper — and exits. `exits_by_waitpid`: reap and
 * report exits as on kernels before 6.15, even where pidfds could.
 */
_Noreturn void th__forkserver_main(int socket_fd, pid_t host, int output_fd, int exits_by_waitpid);

TH__INTERNAL_END

#endif /* TH_FORKSERVER_H */
