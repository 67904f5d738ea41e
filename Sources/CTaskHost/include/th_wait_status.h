/*
 * th_wait_status.h — a waitpid() status decoded, for Swift, where the
 * W* macros don't cross. Inline: nothing to export, nothing to wrap again.
 */
#ifndef TH_WAIT_STATUS_H
#define TH_WAIT_STATUS_H

#include <sys/wait.h>

/** Whether the process was killed by a signal. */
static inline int th__wait_signaled(int status) { return WIFSIGNALED(status); }
/** The signal that killed it (when th__wait_signaled). */
static inline int th__wait_signal(int status) { return WTERMSIG(status); }
/** Its exit code (when it exited). */
static inline int th__wait_exit_code(int status) { return WEXITSTATUS(status); }

#endif /* TH_WAIT_STATUS_H */
