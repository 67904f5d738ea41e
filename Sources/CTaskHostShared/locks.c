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
 * value = base - units booked - units unbooked.
 * The books are a table open-addressed by pid: a slot is empty (pid 0), a
 * holder's (units > 0), or a tombstone once its holder gave back its last
 * unit or died; tombstones are swept when they crowd the table.           */

#define SEMAPHORE_HOLDERS 1024 /* processes holding units at once */
#define TOMBSTONE (-1)

typedef struct holder {
    int32_t pid;
    int32_t reserved;
    int64_t units;
} holder;

typedef struct semaphore_body {
    pthread_mutex_t mutex;
    int64_t value;      /* units free now */
    int64_t base;       /* initial units plus releases by non-holders */
    int64_t unbooked;   /* units taken while SEMAPHORE_HOLDERS other processes held some */
    uint32_t used;      /* slots that are not empty: holders and tombstones */
    uint32_t reserved;
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
    return th__mutex_init(&b->mutex);
}

static semaphore_body *semaphore_of(th_shared *o) {
    handle *h = as_handle(o);
    uint32_t kind = h->header->kind;
    return kind == TH_SHARED_SEMAPHORE || kind == TH_SHARED_BOUNDED_SEMAPHORE ? h->body : NULL;
}

static uint32_t home_slot(int32_t pid) { return (uint32_t)pid * 2654435761u % SEMAPHORE_HOLDERS; }

/* The slot booking `pid`'s units, or NULL. */
static holder *find_holder(semaphore_body *b, int32_t pid) {
    for (uint32_t i = 0, at = home_slot(pid); i < SEMAPHORE_HOLDERS; i++, at = (at + 1) % SEMAPHORE_HOLDERS) {
        if (b->holders[at].pid == 0) return NULL;
        if (b->holders[at].pid == pid) return &b->holders[at];
    }
    return NULL;
}

/* A new slot for `pid`, or NULL when SEMAPHORE_HOLDERS processes hold units. */
static holder *add_holder(semaphore_body *b, int32_t pid) {
    for (uint32_t i = 0, at = home_slot(pid); i < SEMAPHORE_HOLDERS; i++, at = (at + 1) % SEMAPHORE_HOLDERS) {
        holder *h = &b->holders[at];
        if (h->pid == 0 || h->pid == TOMBSTONE) {
            if (h->pid == 0) b->used++;
            *h = (holder){pid, 0, 0};
            return h;
        }
    }
    return NULL;
}

/* Rebuilds the table with its holders only (and `used` from scratch). */
static void sweep(semaphore_body *b) {
    static _Thread_local holder kept[SEMAPHORE_HOLDERS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < SEMAPHORE_HOLDERS; i++)
        if (b->holders[i].pid > 0 && b->holders[i].units > 0) kept[n++] = b->holders[i];
    memset(b->holders, 0, sizeof b->holders);
    b->used = 0;
    for (uint32_t i = 0; i < n; i++) add_holder(b, kept[i].pid)->units = kept[i].units;
}

static void recount(semaphore_body *b) {
    int64_t booked = b->unbooked;
    for (int i = 0; i < SEMAPHORE_HOLDERS; i++)
        if (b->holders[i].pid > 0) booked += b->holders[i].units;
    b->value = b->base - booked;
}

static int lock_books(semaphore_body *b, const deadline *d) {
    int rc = th__mutex_lock(&b->mutex, d);
    if (rc == TH_SHARED_OWNER_DIED) {
        sweep(b); /* a slot may be half written */
        recount(b);
        rc = TH_SHARED_OK;
    }
    return rc;
}

/* Books one unit to `pid`. */
static void book(semaphore_body *b, int32_t pid) {
    holder *mine = find_holder(b, pid);
    if (!mine) {
        if (b->used >= SEMAPHORE_HOLDERS * 3 / 4) sweep(b);
        mine = add_holder(b, pid);
    }
    if (mine) mine->units++;
    else b->unbooked++;
}

/* Takes a unit off `pid`'s books; 0 when it had none. */
static int unbook(semaphore_body *b, int32_t pid) {
    holder *mine = find_holder(b, pid);
    if (!mine || mine->units == 0) return 0;
    if (--mine->units == 0) mine->pid = TOMBSTONE;
    return 1;
}

static int has_units(void *arg) { return __atomic_load_n(&((semaphore_body *)arg)->value, __ATOMIC_SEQ_CST) > 0; }

int th__op_semaphore_acquire(th_shared *o, double timeout) {
    semaphore_body *b = semaphore_of(o);
    if (!b) return TH_SHARED_WRONG_KIND;
    deadline d = th__deadline_in(timeout);
    int32_t pid = th__self_pid();
    for (;;) {
        int rc = lock_books(b, &d);
        if (rc != TH_SHARED_OK) return rc;
        if (b->value > 0) {
            book(b, pid);
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
    if (!unbook(b, th__self_pid())) {
        if (b->unbooked > 0) b->unbooked--;
        else b->base++; /* a release by a process that holds no unit adds one */
    }
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
    holder *dead = find_holder(b, pid);
    if (dead) {
        returned = dead->units;
        *dead = (holder){TOMBSTONE, 0, 0};
    }
    __atomic_store_n(&b->value, b->value + returned, __ATOMIC_SEQ_CST);
    th__mutex_unlock(&b->mutex);
    if (returned) th__waitpoint_wake(&b->released, -1);
    return returned > 0;
}
