/* The fork server's spare worker, forked ahead for the next single process (see th_server.h). */
#include "th_server.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th_pidfd.h"

/* Kills the spare (reaped, and ignored, with the workers). */
void th__spare_discard(th__server *s) {
    if (s->spare.pid > 0) th__kill_process(s->spare.pid, s->spare.pidfd);
    th__fresh_worker_close(&s->spare);
}

/* Forks the spare. */
void th__spare_make(th__server *s) {
    char error[256];
    if (th__fork_worker(&s->plugins, &s->spare, NULL, NULL, 0, s->exits_by_pidfd, error, sizeof error) != 0)
        s->spare_blocked = 1; /* no retrying in a loop: the next process forks its own */
}

/* Milliseconds from `now` until `then` (at least 1). */
static int ms_until(uint64_t then, uint64_t now) {
    return then > now ? (int)((then - now + 999999u) / 1000000u) : 1;
}

/* The main loop's poll timeout for the spare: 0 when one should be made
 * now, else -1 or the milliseconds until that may change. Kills the spare
 * once it is no longer wanted. */
int th__spare_poll_timeout(th__server *s) {
    uint64_t now = th__monotonic_ns();
    if (s->spare_until && now >= s->spare_until) s->spare_until = 0;
    /* With exits by pidfd the host keeps its own spare (bare workers). */
    if ((s->singles == 0 && s->spare_until == 0) || s->spare_blocked || s->exits_by_pidfd) {
        th__spare_discard(s);
        return -1;
    }
    if (s->spare.pid > 0) return s->singles > 0 ? -1 : ms_until(s->spare_until, now);
    if (s->singles > 0 && now - s->newest_single < SPARE_DELAY_NS)
        return ms_until(s->newest_single + SPARE_DELAY_NS, now);
    return 0;
}

/* Takes the spare as the worker for `start`: 1, or 0 when there is none
 * alive (a dead one is dropped). With `late` the caller writes `start`
 * itself, after the reply: woken at once, the spare would run its task on
 * the server's CPU before the host even knows its pid. */
int th__spare_take(th__server *s, th__fresh_worker *w, const th__buf *start, int late) {
    if (s->spare.pid <= 0) return 0;
    int dead;
    if (s->spare.pidfd >= 0) {
        dead = th__pidfd_exited(s->spare.pidfd);
    } else {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        dead = waitid(P_PID, (id_t)s->spare.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0;
    }
    if (dead) {
        th__spare_discard(s); /* reaped, and ignored, with the workers */
        return 0;
    }
    *w = s->spare;
    th__fresh_worker_clear(&s->spare);
    if (late || th__write_all(w->request, start->data, start->length) == 0) return 1;
    th__kill_process(w->pid, w->pidfd);
    th__fresh_worker_close(w);
    return 0;
}
