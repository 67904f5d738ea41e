/*
 * th_forkserver.h — the fork server: a small single-threaded process,
 * started by exec, that loads the plugins once and forks a worker whenever
 * the host asks. Workers inherit the loaded plugins; the server reaps them
 * and reports every exit status to the host (which is not their parent).
 */
#ifndef TH_FORKSERVER_H
#define TH_FORKSERVER_H

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** Serves the host on `socket_fd` until it closes; then kills every worker
 *  and returns the process exit code. */
int th__forkserver_main(int socket_fd);

TH__INTERNAL_END

#endif /* TH_FORKSERVER_H */
