/*
 * th_descendants.h — the fork server is the subreaper of everything below
 * it (PR_SET_CHILD_SUBREAPER): a process a worker or a plugin starts comes
 * back to it as an orphan, setsid() or not, when its own parent dies. So
 * before the server exits it can kill every descendant, and it does.
 */
#ifndef TH_DESCENDANTS_H
#define TH_DESCENDANTS_H

#include <sys/types.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/**
 * Kills (SIGKILL, with its process group) and reaps every child, then every
 * orphan that comes back as they die, until none is left. Async-signal-safe
 * (no stdio, no malloc), so a signal handler may call it.
 */
void th__kill_descendants(void);

/**
 * The first child of this process that is still listed by the kernel, or 0
 * when it has none (an exited but unreaped child counts too). Async-signal-safe.
 */
pid_t th__any_child(void);

TH__INTERNAL_END

#endif /* TH_DESCENDANTS_H */
