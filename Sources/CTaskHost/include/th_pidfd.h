/*
 * th_pidfd.h — a process's exit through its pidfd. Where the kernel keeps a
 * reaped process's wait status for the holders of its pidfd
 * (PIDFD_GET_INFO with PIDFD_INFO_EXIT, Linux 6.15 and later), the fork
 * server lets the kernel reap its workers at once and hands the host each
 * worker's pidfd: the host learns of a worker's end, and its status, without
 * a message from the server. Used by the host and the fork server alike.
 */
#ifndef TH_PIDFD_H
#define TH_PIDFD_H

#include <sys/types.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** A close-on-exec pidfd for `pid`, or -1 (errno; ESRCH: no such process). */
int th__pidfd_open(pid_t pid);

/** Sends `signo` to the process of `pidfd`. 0, or -1 (errno; ESRCH: it has ended). */
int th__pidfd_kill(int pidfd, int signo);

/**
 * The wait status of the process of `pidfd`, as waitpid() gives it: 1 with
 * `*status` set once it has been reaped; 0 while it runs, or has exited
 * but not yet been reaped (the kernel fills the status in as it reaps, just
 * after the pidfd turns readable); -1 when this kernel cannot say (errno).
 */
int th__pidfd_exit_status(int pidfd, int *status);

/** Whether `pidfd` is readable now: its process has exited. */
int th__pidfd_exited(int pidfd);

/**
 * Whether this kernel reports exit statuses through pidfds: forks a child
 * that exits with a known code, reaps it, and reads the code back through
 * its pidfd. Call it with no other child that could be reaped meanwhile and
 * with SIGCHLD not ignored.
 */
int th__pidfd_exit_supported(void);

TH__INTERNAL_END

#endif /* TH_PIDFD_H */
