/* Deadlines, futexes, wait points and robust mutexes (shared_internal.h). */
#include "shared_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

/* How long a waiter watches before it sleeps: waking a sleeping process
 * costs several microseconds, more than most waits last when both sides
 * are busy. It watches with sched_yield(), not a pause loop: on a virtual
 * machine a pause loop makes the hypervisor deschedule the spinner, and on a
 * busy machine the other side may need this very core (measured on 2 loaded
 * vCPUs: event round trip 169 us with pause, 3.4 us with yield). */
#define SPIN_NS 20000
/* Read-only looks at a busy mutex before blocking on it. */
#define MUTEX_SPINS 200

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

deadline th__deadline_in(double timeout) {
    deadline d = {{0, 0}, timeout < 0, timeout == 0};
    if (timeout > 0) {
        if (timeout > 1e9) timeout = 1e9; /* ~31 years: forever enough, no overflow */
        clock_gettime(CLOCK_MONOTONIC, &d.at);
        uint64_t add = (uint64_t)(timeout * 1e9);
        uint64_t nsec = (uint64_t)d.at.tv_nsec + add % 1000000000u;
        d.at.tv_sec += (time_t)(add / 1000000000u + nsec / 1000000000u);
        d.at.tv_nsec = (long)(nsec % 1000000000u);
    }
    return d;
}

int th__deadline_passed(const deadline *d) {
    if (d->forever) return 0;
    if (d->try_only) return 1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->at.tv_sec || (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

int th__futex_wait(_Atomic uint32_t *word, uint32_t expected, const deadline *d) {
    if (d->try_only) return -1;
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expected, d->forever ? NULL : &d->at, NULL,
                      FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno == ETIMEDOUT) return -1;
    return 0; /* woken, EAGAIN (the value changed) or EINTR: the caller looks again */
}

void th__futex_wake(_Atomic uint32_t *word, int count) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, count < 0 ? INT_MAX : count, NULL, NULL, 0);
}

int th__waitpoint_wait(waitpoint *w, int (*ready)(void *arg), void *arg, const deadline *d) {
    if (ready(arg)) return TH_SHARED_OK;
    if (d->try_only) return TH_SHARED_TIMEOUT;
    uint64_t spin_until = now_ns() + SPIN_NS;
    do {
        if (ready(arg)) return TH_SHARED_OK;
        sched_yield();
    } while (now_ns() < spin_until);
    for (;;) {
        uint32_t seq = atomic_load(&w->seq);
        atomic_fetch_add(&w->sleepers, 1);
        /* seq_cst on both sides: either the waker sees our sleeper count, or
         * we see what it made ready before it looked. */
        if (ready(arg)) {
            atomic_fetch_sub(&w->sleepers, 1);
            return TH_SHARED_OK;
        }
        int timed_out = th__futex_wait(&w->seq, seq, d);
        atomic_fetch_sub(&w->sleepers, 1);
        if (ready(arg)) return TH_SHARED_OK;
        if (timed_out || th__deadline_passed(d)) return TH_SHARED_TIMEOUT;
    }
}

void th__waitpoint_wake(waitpoint *w, int count) {
    if (atomic_load(&w->sleepers) == 0) return;
    atomic_fetch_add(&w->seq, 1);
    th__futex_wake(&w->seq, count);
}

int th__mutex_init(pthread_mutex_t *m) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return -1;
    int rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) ||
             pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) || pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc ? -1 : 0;
}

static int lock_result(pthread_mutex_t *m, int rc) {
    switch (rc) {
    case 0: return TH_SHARED_OK;
    case EOWNERDEAD:
        /* We own it now; the state it guards is the caller's to repair. */
        pthread_mutex_consistent(m);
        return TH_SHARED_OWNER_DIED;
    default: return TH_SHARED_TIMEOUT;
    }
}

int th__mutex_lock(pthread_mutex_t *m, const deadline *d) {
    int rc = pthread_mutex_trylock(m);
    if (rc != EBUSY) return lock_result(m, rc);
    if (d->try_only) return TH_SHARED_TIMEOUT;
    /* A holder usually lets go within nanoseconds: look (without writing the
     * cache line) before blocking in the kernel. */
    for (int i = 0; i < MUTEX_SPINS; i++) {
        cpu_relax();
        if (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 0) {
            rc = pthread_mutex_trylock(m);
            if (rc != EBUSY) return lock_result(m, rc);
        }
    }
    rc = d->forever ? pthread_mutex_lock(m) : pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &d->at);
    return lock_result(m, rc);
}

int th__mutex_unlock(pthread_mutex_t *m) {
    return pthread_mutex_unlock(m) == 0 ? TH_SHARED_OK : TH_SHARED_NOT_OWNER;
}
