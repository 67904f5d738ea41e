/* Owned locks: the lock of a LOCK, RLOCK, CONDITION, VALUE and ARRAY
 * (shared_internal.h).
 *
 * The futex word holds the holding thread's id (TID), as robust futexes do,
 * and the holder's process id sits beside it; an uncontended acquire and
 * release are one compare-exchange and one exchange (a glibc robust mutex
 * also keeps the kernel's per-thread list of held mutexes up to date, which
 * doubled the cost). A holder that dies is caught twice over:
 *   - the host repairs every object when a worker dies (th__shared_repair):
 *     a lock whose holder process is that worker is freed with OWNER_DIED;
 *   - a waiter that has slept a while looks whether the holding thread
 *     still exists (kill(tid, 0)): a thread or process that ended holding
 *     the lock (a task's own thread or child, say) is caught this way.
 * The next acquire then returns TH_SHARED_OWNER_DIED.                     */
#include "shared_internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TID_MASK 0x3fffffffu
#define OWNER_DIED 0x40000000u
#define WAITERS 0x80000000u

/* Reads of a busy lock before sleeping, and how long a sleeper waits before
 * it looks whether the holder still exists. */
#define LOCK_SPINS 200
#define PROBE_NS 100000000u

_Thread_local th__thread_ids th__self;

static void forget_ids(void) { th__self = (th__thread_ids){0, 0}; }

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_ids); }

void th__self_load(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork_handler); /* a forked child learns its own ids again */
    th__self.pid = (int32_t)getpid();
    th__self.tid = (uint32_t)syscall(SYS_gettid);
}

void th__owned_init(owned_lock *l, int recursive) {
    atomic_store(&l->word, 0);
    atomic_store(&l->holder_pid, 0);
    l->depth = 0;
    l->recursive = (uint32_t)recursive;
}

/* Frees `l` from a holder known dead: the word it saw was `w`. */
static int free_dead(owned_lock *l, uint32_t w) {
    if (!atomic_compare_exchange_strong(&l->word, &w, OWNER_DIED | (w & WAITERS))) return 0;
    atomic_store_explicit(&l->holder_pid, 0, memory_order_relaxed);
    l->depth = 0;
    if (w & WAITERS) th__futex_wake(&l->word, 1);
    return 1;
}

/* After a long sleep: frees the lock if the thread holding it is gone. Our
 * own process's main thread is alive while we run (and a sandboxed worker
 * may not signal itself); a holder we may not signal exists. */
static void free_if_holder_gone(owned_lock *l, uint32_t w) {
    uint32_t holder = w & TID_MASK;
    if (holder == 0 || (int32_t)holder == th__self.pid) return;
    if (syscall(SYS_kill, (pid_t)holder, 0) == 0 || errno != ESRCH) return;
    free_dead(l, w);
}

/* The sooner of `d` and PROBE_NS from now. */
static deadline probe_deadline(const deadline *d) {
    deadline probe = th__deadline_in(PROBE_NS / 1e9);
    if (d->forever) return probe;
    if (d->at.tv_sec < probe.at.tv_sec || (d->at.tv_sec == probe.at.tv_sec && d->at.tv_nsec < probe.at.tv_nsec))
        return *d;
    return probe;
}

int th__owned_lock_slow(owned_lock *l, const deadline *d) {
    uint32_t tid = th__self.tid;
    int slept = 0;
    for (int spins = 0;;) {
        uint32_t w = atomic_load(&l->word);
        if ((w & TID_MASK) == tid) {
            if (!l->recursive) return TH_SHARED_WOULD_DEADLOCK;
            l->depth++;
            return TH_SHARED_OK;
        }
        if ((w & TID_MASK) == 0) {
            /* Free, or freed from a dead holder. After a sleep others may
             * sleep too: keep WAITERS so the release wakes one. */
            uint32_t mine = tid | (slept ? WAITERS : (w & WAITERS));
            if (atomic_compare_exchange_weak(&l->word, &w, mine)) {
                atomic_store_explicit(&l->holder_pid, th__self.pid, memory_order_relaxed);
                return w & OWNER_DIED ? TH_SHARED_OWNER_DIED : TH_SHARED_OK;
            }
            continue;
        }
        if (d->try_only) return TH_SHARED_TIMEOUT;
        if (spins < LOCK_SPINS) {
            spins++;
            cpu_relax();
            continue;
        }
        if (!(w & WAITERS) && !atomic_compare_exchange_weak(&l->word, &w, w | WAITERS)) continue;
        deadline probe = probe_deadline(d);
        int timed_out = th__futex_wait(&l->word, w | WAITERS, &probe) != 0;
        slept = 1;
        if (timed_out) {
            if (th__deadline_passed(d)) return TH_SHARED_TIMEOUT;
            free_if_holder_gone(l, w | WAITERS);
        }
    }
}

int th__owned_unlock_slow(owned_lock *l) {
    uint32_t w = atomic_load_explicit(&l->word, memory_order_relaxed);
    if ((w & TID_MASK) != th__self.tid || th__self.tid == 0) return TH_SHARED_NOT_OWNER;
    if (l->depth > 0) {
        l->depth--;
        return TH_SHARED_OK;
    }
    atomic_store_explicit(&l->holder_pid, 0, memory_order_relaxed);
    if (atomic_exchange_explicit(&l->word, 0, memory_order_release) & WAITERS) th__futex_wake(&l->word, 1);
    return TH_SHARED_OK;
}

int th__owned_repair(owned_lock *l, int32_t pid) {
    uint32_t w = atomic_load(&l->word);
    if ((w & TID_MASK) == 0) return 0;
    int32_t holder = atomic_load_explicit(&l->holder_pid, memory_order_relaxed);
    /* Its holder process died, or died between taking the word and writing
     * its pid (its main thread's TID is its pid). */
    if (holder != pid && !(holder == 0 && (int32_t)(w & TID_MASK) == pid)) return 0;
    return free_dead(l, w);
}
