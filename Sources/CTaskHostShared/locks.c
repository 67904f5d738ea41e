/* LOCK, RLOCK, CONDITION and SEMAPHORE (taskhost/shared.h). */
#include "shared_internal.h"

#include <string.h>
#include <unistd.h>

/* ---- LOCK, RLOCK, CONDITION ------------------------------------------- */

typedef struct lock_body {
    owned_lock lock;
    waitpoint notified; /* CONDITION: bumped by notify */
} lock_body;

uint64_t th__lock_body_size(const th_shared_spec *spec) {
    (void)spec;
    return sizeof(lock_body);
}

int th__lock_init(handle *h) {
    lock_body *b = h->body;
    /* An RLOCK counts; a LOCK reports a second acquire by its holder rather
     * than hang it forever. A CONDITION's lock is a LOCK: a wait releases it
     * whole. */
    th__owned_init(&b->lock, h->header->kind == TH_SHARED_RLOCK);
    return 0;
}

int th__op_acquire(th_shared *o, double timeout) {
    owned_lock *l = as_handle(o)->lock;
    return l ? th__owned_lock(l, timeout) : TH_SHARED_WRONG_KIND;
}

int th__op_release(th_shared *o) {
    owned_lock *l = as_handle(o)->lock;
    return l ? th__owned_unlock(l) : TH_SHARED_WRONG_KIND;
}

static lock_body *condition_body(th_shared *o) {
    handle *h = as_handle(o);
    return h->header->kind == TH_SHARED_CONDITION ? h->body : NULL;
}

int th__op_condition_wait(th_shared *o, double timeout) {
    lock_body *b = condition_body(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline d = th__deadline_in(timeout);
    /* Read the sequence while holding the lock: a notify (made under the
     * lock) after our release changes it, and the futex sees the change. */
    uint32_t seq = atomic_load(&b->notified.seq);
    atomic_fetch_add(&b->notified.sleepers, 1);
    if (th__owned_unlock(&b->lock) != TH_SHARED_OK) {
        atomic_fetch_sub(&b->notified.sleepers, 1);
        return TH_SHARED_NOT_OWNER;
    }
    int timed_out = th__futex_wait(&b->notified.seq, seq, &d);
    atomic_fetch_sub(&b->notified.sleepers, 1);
    int relock = th__owned_lock(&b->lock, -1);
    if (relock == TH_SHARED_OWNER_DIED) return relock;
    return timed_out && atomic_load(&b->notified.seq) == seq ? TH_SHARED_TIMEOUT : TH_SHARED_OK;
}

int th__op_condition_notify(th_shared *o, int count) {
    lock_body *b = condition_body(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    if (count == 0) return TH_SHARED_OK;
    th__waitpoint_wake(&b->notified, count);
    return TH_SHARED_OK;
}

/* ---- SEMAPHORE, BOUNDED_SEMAPHORE -------------------------------------- *
 * Units taken are booked to the taking process, so the host can give back
 * a dead process's units. The books and the count change together under a
 * robust mutex; if a process dies in between, the next holder recounts:
 * value = base - units booked - units unbooked.                           */

#define SEMAPHORE_HOLDERS 64

typedef struct holder {
    int32_t pid;
    int32_t reserved;
    int64_t units;
} holder;

typedef struct semaphore_body {
    pthread_mutex_t mutex;
    int64_t value;      /* units free now */
    int64_t base;       /* initial units plus releases by non-holders */
    int64_t unbooked;   /* units taken while the holder table was full */
    waitpoint released;
    holder holders[SEMAPHORE_HOLDERS];
} semaphore_body;

uint64_t th__semaphore_body_size(const th_shared_spec *spec) {
    (void)spec;
    return sizeof(semaphore_body);
}

int th__semaphore_init(handle *h) {
    semaphore_body *b = h->body;
    b->value = b->base = h->header->initial;
    return th__mutex_init(&b->mutex, MUTEX_PLAIN);
}

static semaphore_body *semaphore_of(th_shared *o) {
    handle *h = as_handle(o);
    uint32_t kind = h->header->kind;
    return kind == TH_SHARED_SEMAPHORE || kind == TH_SHARED_BOUNDED_SEMAPHORE ? h->body : NULL;
}

static void recount(semaphore_body *b) {
    int64_t booked = b->unbooked;
    for (int i = 0; i < SEMAPHORE_HOLDERS; i++) booked += b->holders[i].units;
    b->value = b->base - booked;
}

static int lock_books(semaphore_body *b, const deadline *d) {
    int rc = th__mutex_lock(&b->mutex, d);
    if (rc == TH_SHARED_OWNER_DIED) {
        recount(b);
        rc = TH_SHARED_OK;
    }
    return rc;
}

static holder *find_holder(semaphore_body *b, int32_t pid, int add) {
    holder *free_slot = NULL;
    for (int i = 0; i < SEMAPHORE_HOLDERS; i++) {
        if (b->holders[i].pid == pid && b->holders[i].units > 0) return &b->holders[i];
        if (!free_slot && b->holders[i].units == 0) free_slot = &b->holders[i];
    }
    if (add && free_slot) free_slot->pid = pid;
    return add ? free_slot : NULL;
}

static int has_units(void *arg) { return __atomic_load_n(&((semaphore_body *)arg)->value, __ATOMIC_SEQ_CST) > 0; }

int th__op_semaphore_acquire(th_shared *o, double timeout) {
    semaphore_body *b = semaphore_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline d = th__deadline_in(timeout);
    int32_t pid = (int32_t)getpid();
    for (;;) {
        int rc = lock_books(b, &d);
        if (rc != TH_SHARED_OK) return rc;
        if (b->value > 0) {
            holder *mine = find_holder(b, pid, 1);
            if (mine) mine->units++;
            else b->unbooked++;
            __atomic_store_n(&b->value, b->value - 1, __ATOMIC_SEQ_CST);
            th__mutex_unlock(&b->mutex);
            return TH_SHARED_OK;
        }
        th__mutex_unlock(&b->mutex);
        rc = th__waitpoint_wait(&b->released, has_units, b, &d);
        if (rc != TH_SHARED_OK) return rc;
    }
}

int th__op_semaphore_release(th_shared *o) {
    semaphore_body *b = semaphore_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline forever = th__deadline_in(-1);
    lock_books(b, &forever);
    if (as_handle(o)->header->kind == TH_SHARED_BOUNDED_SEMAPHORE && b->value >= as_handle(o)->header->initial) {
        th__mutex_unlock(&b->mutex);
        return TH_SHARED_OVERFLOW;
    }
    holder *mine = find_holder(b, (int32_t)getpid(), 0);
    if (mine) mine->units--;
    else if (b->unbooked > 0) b->unbooked--;
    else b->base++;
    __atomic_store_n(&b->value, b->value + 1, __ATOMIC_SEQ_CST);
    th__mutex_unlock(&b->mutex);
    th__waitpoint_wake(&b->released, 1);
    return TH_SHARED_OK;
}

int64_t th__op_semaphore_value(th_shared *o) {
    semaphore_body *b = semaphore_of(o);
    return b ? __atomic_load_n(&b->value, __ATOMIC_SEQ_CST) : TH_SHARED_WRONG_KIND;
}

int th__semaphore_repair(handle *h, int32_t pid) {
    semaphore_body *b = h->body;
    deadline forever = th__deadline_in(-1);
    lock_books(b, &forever);
    int64_t returned = 0;
    for (int i = 0; i < SEMAPHORE_HOLDERS; i++) {
        if (b->holders[i].pid == pid && b->holders[i].units > 0) {
            returned += b->holders[i].units;
            b->holders[i].units = 0;
        }
    }
    __atomic_store_n(&b->value, b->value + returned, __ATOMIC_SEQ_CST);
    th__mutex_unlock(&b->mutex);
    if (returned) th__waitpoint_wake(&b->released, -1);
    return returned > 0;
}
