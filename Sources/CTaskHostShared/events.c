/* EVENT and BARRIER (taskhost/shared.h). */
#include "shared_internal.h"

#include <unistd.h>

/* ---- EVENT ------------------------------------------------------------ */

typedef struct event_body {
    _Atomic uint32_t flag;
    uint32_t reserved;
    waitpoint changed;
} event_body;

uint64_t th__event_body_size(const th_shared_spec *spec) {
    (void)spec;
    return sizeof(event_body);
}

int th__event_init(handle *h) {
    (void)h;
    return 0;
}

static event_body *event_of(th_shared *o) {
    handle *h = as_handle(o);
    return h->header->kind == TH_SHARED_EVENT ? h->body : NULL;
}

int th__op_event_set(th_shared *o) {
    event_body *b = event_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    atomic_store(&b->flag, 1);
    th__waitpoint_wake(&b->changed, -1);
    return TH_SHARED_OK;
}

int th__op_event_clear(th_shared *o) {
    event_body *b = event_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    atomic_store(&b->flag, 0);
    return TH_SHARED_OK;
}

int th__op_event_is_set(th_shared *o) {
    event_body *b = event_of(o);
    return b ? (int)atomic_load(&b->flag) : TH_SHARED_WRONG_KIND;
}

static int is_set(void *arg) { return atomic_load(&((event_body *)arg)->flag) != 0; }

int th__op_event_wait(th_shared *o, double timeout) {
    event_body *b = event_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline d = th__deadline_in(timeout);
    return th__waitpoint_wait(&b->changed, is_set, b, &d);
}

/* ---- BARRIER ------------------------------------------------------------ *
 * The parties of the current round are listed by pid, and so is every live
 * process that found the barrier or waited at it (its members), so the host
 * can tell whether a dead process was a party others wait for: if so the
 * barrier breaks.                                                          */

/* Members tracked at once; a process beyond them breaks nothing when it dies. */
#define BARRIER_MEMBERS 256

typedef struct barrier_body {
    pthread_mutex_t mutex;
    uint32_t parties;
    uint32_t arrived;     /* in this round */
    _Atomic uint32_t round;
    _Atomic uint32_t passed_round; /* the last round all parties passed */
    _Atomic uint32_t broken;
    _Atomic int32_t broken_by; /* the dead party's pid, 0 for a timeout or a reset */
    _Atomic uint32_t died_waiting; /* broken_by died while waiting (1) or before arriving (0) */
    uint32_t member_count;
    waitpoint changed;
    int32_t members[BARRIER_MEMBERS];
    int32_t waiting[];    /* parties entries: this round's pids */
} barrier_body;

uint64_t th__barrier_body_size(const th_shared_spec *spec) {
    return sizeof(barrier_body) + spec->count * sizeof(int32_t);
}

int th__barrier_init(handle *h) {
    barrier_body *b = h->body;
    b->parties = (uint32_t)h->header->count;
    atomic_store(&b->passed_round, UINT32_MAX);
    return th__mutex_init(&b->mutex);
}

static barrier_body *barrier_of(th_shared *o) {
    handle *h = as_handle(o);
    return h->header->kind == TH_SHARED_BARRIER ? h->body : NULL;
}

/* Under the mutex: a process that died holding it may have left `arrived`
 * counted without its pid; the round can't be trusted, so it breaks. */
static int lock_barrier(barrier_body *b, const deadline *d) {
    int rc = th__mutex_lock(&b->mutex, d);
    if (rc == TH_SHARED_OWNER_DIED) {
        atomic_store(&b->broken, 1);
        rc = TH_SHARED_OK;
    }
    return rc;
}

/* Under the mutex: makes `pid` a member (once). */
static void join(barrier_body *b, int32_t pid) {
    for (uint32_t i = 0; i < b->member_count; i++)
        if (b->members[i] == pid) return;
    if (b->member_count < BARRIER_MEMBERS) b->members[b->member_count++] = pid;
}

void th__barrier_join(handle *h, int32_t pid) {
    barrier_body *b = h->body;
    deadline forever = th__deadline_in(-1);
    lock_barrier(b, &forever);
    join(b, pid);
    th__mutex_unlock(&b->mutex);
}

static void break_barrier(barrier_body *b, int32_t by) {
    atomic_store(&b->broken_by, by);
    atomic_store(&b->broken, 1);
    atomic_fetch_add(&b->changed.seq, 1);
    th__futex_wake(&b->changed.seq, -1);
}

/* A round is over: passed by all, or ended by a reset. */
static int ended(barrier_body *b, uint32_t round, uint32_t index) {
    return atomic_load(&b->passed_round) == round ? (int)index : TH_SHARED_BROKEN;
}

int th__op_barrier_wait(th_shared *o, double timeout) {
    barrier_body *b = barrier_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline d = th__deadline_in(timeout);
    deadline forever = th__deadline_in(-1);
    lock_barrier(b, &forever);
    if (atomic_load(&b->broken)) {
        th__mutex_unlock(&b->mutex);
        return TH_SHARED_BROKEN;
    }
    uint32_t index = b->arrived++;
    b->waiting[index] = th__self_pid();
    join(b, b->waiting[index]);
    if (b->arrived == b->parties) {
        b->arrived = 0;
        atomic_store(&b->passed_round, atomic_load(&b->round));
        atomic_fetch_add(&b->round, 1);
        atomic_fetch_add(&b->changed.seq, 1);
        th__mutex_unlock(&b->mutex);
        th__futex_wake(&b->changed.seq, -1);
        return (int)index;
    }
    uint32_t round = atomic_load(&b->round);
    th__mutex_unlock(&b->mutex);
    for (;;) {
        uint32_t seq = atomic_load(&b->changed.seq);
        if (atomic_load(&b->round) != round) return ended(b, round, index);
        if (atomic_load(&b->broken)) return TH_SHARED_BROKEN;
        if (th__futex_wait(&b->changed.seq, seq, &d) != 0 || th__deadline_passed(&d)) {
            /* As Python's: a party that gives up breaks the barrier for all. */
            lock_barrier(b, &forever);
            int over = atomic_load(&b->round) != round;
            if (!over && !atomic_load(&b->broken)) break_barrier(b, 0);
            th__mutex_unlock(&b->mutex);
            return over ? ended(b, round, index) : TH_SHARED_TIMEOUT;
        }
    }
}

int th__op_barrier_reset(th_shared *o) {
    barrier_body *b = barrier_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline forever = th__deadline_in(-1);
    lock_barrier(b, &forever);
    /* The round ends without passing: whoever waits in it gets BROKEN. */
    b->arrived = 0;
    atomic_fetch_add(&b->round, 1);
    atomic_store(&b->broken, 0);
    atomic_store(&b->broken_by, 0);
    atomic_store(&b->died_waiting, 0);
    atomic_fetch_add(&b->changed.seq, 1);
    th__mutex_unlock(&b->mutex);
    th__futex_wake(&b->changed.seq, -1);
    return TH_SHARED_OK;
}

int32_t th__op_barrier_broken_by(th_shared *o) {
    barrier_body *b = barrier_of(o);
    return b ? atomic_load(&b->broken_by) : TH_SHARED_WRONG_KIND;
}

int64_t th__op_barrier_waiting(th_shared *o) {
    barrier_body *b = barrier_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline forever = th__deadline_in(-1);
    lock_barrier(b, &forever);
    int64_t waiting = atomic_load(&b->broken) ? 0 : b->arrived;
    th__mutex_unlock(&b->mutex);
    return waiting;
}

int th__barrier_died_waiting(th_shared *o) {
    barrier_body *b = barrier_of(o);
    return b && atomic_load(&b->died_waiting);
}

/* A member that dies breaks the barrier when others wait in the round: it
 * waited with them (a waiter lost), or it never arrived (a party they would
 * wait for forever). A member that dies while no one waits breaks nothing. */
int th__barrier_repair(handle *h, int32_t pid) {
    barrier_body *b = h->body;
    deadline forever = th__deadline_in(-1);
    lock_barrier(b, &forever);
    int member = 0, waiting = 0;
    for (uint32_t i = 0; i < b->member_count; i++)
        if (b->members[i] == pid) {
            b->members[i] = b->members[--b->member_count];
            member = 1;
            break;
        }
    for (uint32_t i = 0; i < b->arrived && !waiting; i++) waiting = b->waiting[i] == pid;
    int fixed = (waiting || (member && b->arrived > 0)) && !atomic_load(&b->broken);
    if (fixed) {
        atomic_store(&b->died_waiting, (uint32_t)waiting);
        break_barrier(b, pid);
    }
    th__mutex_unlock(&b->mutex);
    return fixed;
}
