/* The fork server's live workers: remembered, killed, their ends noticed (see th_server.h). */
#include "th_server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "th_pidfd.h"

uint64_t th__monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void th__remember_worker(th__server *s, pid_t pid, int pidfd, int single) {
    if (s->worker_count == s->worker_capacity) {
        size_t capacity = s->worker_capacity ? s->worker_capacity * 2 : 16;
        th__live_worker *grown = realloc(s->workers, capacity * sizeof(th__live_worker));
        if (!grown) _exit(71);
        s->workers = grown;
        s->worker_capacity = capacity;
    }
    s->workers[s->worker_count++] = (th__live_worker){pid, pidfd, single};
    if (single) s->singles++;
}

/* Forgets a worker that ended: 1, or 0 when `pid` was none of them. */
int th__forget_worker(th__server *s, pid_t pid) {
    for (size_t i = 0; i < s->worker_count; i++) {
        if (s->workers[i].pid == pid) {
            if (s->workers[i].single) {
                s->singles--;
                s->spare_until = th__monotonic_ns() + SPARE_KEEP_NS;
            }
            if (s->workers[i].pidfd >= 0) close(s->workers[i].pidfd);
            s->workers[i] = s->workers[--s->worker_count];
            return 1;
        }
    }
    return 0;
}

void th__kill_worker(th__server *s, pid_t pid) {
    for (size_t i = 0; i < s->worker_count; i++) {
        if (s->workers[i].pid == pid) {
            th__kill_process(pid, s->workers[i].pidfd);
            return;
        }
    }
}

/* With exits by pidfd: forgets the workers whose pidfds say they ended (the
 * kernel has reaped them; the host reads their statuses itself). */
void th__forget_ended_workers(th__server *s) {
    if (s->spare.pid > 0 && th__pidfd_exited(s->spare.pidfd)) {
        /* It died unused: no new one until the next process asks. */
        th__fresh_worker_close(&s->spare);
        s->spare_blocked = 1;
    }
    for (size_t i = 0; i < s->worker_count;) {
        if (!th__pidfd_exited(s->workers[i].pidfd)) {
            i++;
            continue;
        }
        pid_t pid = s->workers[i].pid;
        th__forget_worker(s, pid); /* moves the last one to i */
        kill(-pid, SIGKILL);   /* whatever the worker left behind in its group */
    }
}
