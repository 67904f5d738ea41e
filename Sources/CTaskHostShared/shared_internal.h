/*
 * shared_internal.h — the layout of shared regions and the helpers every
 * kind uses (deadlines, futexes, owned locks, robust mutexes). Private to
 * this target.
 *
 * A region is a header, then the kind's body at `body` bytes from the
 * start. Fields other processes change are atomics or live under an owned
 * lock or a process-shared robust mutex; nothing in a region is a pointer.
 */
#ifndef TH_SHARED_INTERNAL_H
#define TH_SHARED_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "th_shared_core.h"

TH__INTERNAL_BEGIN

#define TH_SHARED_MAGIC 0x48534854u /* "THSH" */
#define TH_SHARED_LAYOUT 1u
#define CACHE_LINE 64
/* Where a kind's body starts in its region (after the header). */
#define BODY_OFFSET 256

typedef struct region_header {
    uint32_t magic;
    uint32_t layout;
    uint32_t kind;
    uint32_t element_type;
    uint64_t size;      /* bytes of the whole region */
    uint64_t body;      /* offset of the kind's body */
    uint64_t count;     /* as in th_shared_spec */
    uint64_t item_size;
    int64_t initial;
    char name[TH_SHARED_NAME_MAX + 1];
} region_header;

_Static_assert(sizeof(region_header) <= BODY_OFFSET, "the header fits before the body");

typedef struct owned_lock owned_lock;

/* A process's handle: the public part first. */
typedef struct handle {
    th_shared base;
    uint8_t *region;
    uint64_t size;
    region_header *header;
    void *body;
    owned_lock *lock; /* th__object_lock, looked up once */
} handle;

static inline handle *as_handle(th_shared *object) { return (handle *)object; }

/* ---- time ------------------------------------------------------------- */

/* An absolute CLOCK_MONOTONIC deadline; `forever` when timeout < 0. */
typedef struct deadline {
    struct timespec at;
    int forever;
    int try_only;
} deadline;

deadline th__deadline_in(double timeout);
int th__deadline_passed(const deadline *d);

/* ---- futexes (shared, not private: the word lives in shared memory) --- */

/* Sleeps while *word == expected, until woken or the deadline:
 * 0 woken (or the value differed), -1 the deadline passed. */
int th__futex_wait(_Atomic uint32_t *word, uint32_t expected, const deadline *d);
void th__futex_wake(_Atomic uint32_t *word, int count);

/* A wake-up word with a count of sleepers, so a waker makes a system call
 * only when someone sleeps. A sleeper that dies leaves its count behind,
 * which costs later wakers a system call, nothing else. */
typedef struct waitpoint {
    _Atomic uint32_t seq;
    _Atomic uint32_t sleepers;
} waitpoint;

/* Waits until `ready(arg)` or the deadline; spins a little first.
 * 0 when ready, TH_SHARED_TIMEOUT when not. */
int th__waitpoint_wait(waitpoint *w, int (*ready)(void *arg), void *arg, const deadline *d);
void th__waitpoint_wake(waitpoint *w, int count);

/* ---- robust process-shared mutexes: the objects' inner ones ---------- */

int th__mutex_init(pthread_mutex_t *m);
/* TH_SHARED_OK, TH_SHARED_OWNER_DIED (made consistent), TH_SHARED_TIMEOUT. */
int th__mutex_lock(pthread_mutex_t *m, const deadline *d);
/* TH_SHARED_OK or TH_SHARED_NOT_OWNER. */
int th__mutex_unlock(pthread_mutex_t *m);

/* ---- owned locks (owned_lock.c): LOCK, RLOCK, CONDITION, VALUE, ARRAY -- */

struct owned_lock {
    _Atomic uint32_t word;       /* 0 free; the holder's TID, | WAITERS; OWNER_DIED once freed from a dead holder */
    _Atomic int32_t holder_pid;  /* the holder's process, written right after it took `word` */
    uint32_t depth;              /* RLOCK: acquisitions beyond the first */
    uint32_t recursive;
};

/* This thread's ids, learnt on first use (and again in a forked child). */
typedef struct th__thread_ids {
    uint32_t tid;
    int32_t pid;
} th__thread_ids;
extern _Thread_local th__thread_ids th__self __attribute__((tls_model("initial-exec")));
void th__self_load(void);

/* This process's id without a system call (getpid() makes one). */
static inline int32_t th__self_pid(void) {
    if (__builtin_expect(th__self.tid == 0, 0)) th__self_load();
    return th__self.pid;
}

void th__owned_init(owned_lock *l, int recursive);
/* TH_SHARED_OK, TH_SHARED_OWNER_DIED (taken from a dead holder), TH_SHARED_TIMEOUT, TH_SHARED_WOULD_DEADLOCK. */
int th__owned_lock_slow(owned_lock *l, const deadline *d);
/* TH_SHARED_OK or TH_SHARED_NOT_OWNER. */
int th__owned_unlock_slow(owned_lock *l);
/* Frees `l` if process `pid` (dead) held it; whether it did. */
int th__owned_repair(owned_lock *l, int32_t pid);

/* Takes the lock: one compare-exchange when it is free. */
static inline int th__owned_lock(owned_lock *l, double timeout) {
    if (__builtin_expect(th__self.tid == 0, 0)) th__self_load();
    uint32_t expected = 0;
    if (__builtin_expect(atomic_compare_exchange_strong_explicit(&l->word, &expected, th__self.tid,
                                                                 memory_order_acquire, memory_order_relaxed), 1)) {
        atomic_store_explicit(&l->holder_pid, th__self.pid, memory_order_relaxed);
        return TH_SHARED_OK;
    }
    deadline d = th__deadline_in(timeout);
    return th__owned_lock_slow(l, &d);
}

/* Releases the lock: one exchange when the holder holds it once. */
static inline int th__owned_unlock(owned_lock *l) {
    uint32_t tid = th__self.tid;
    if (__builtin_expect(tid != 0 && atomic_load_explicit(&l->word, memory_order_relaxed) == tid && l->depth == 0, 1)) {
        atomic_store_explicit(&l->holder_pid, 0, memory_order_relaxed);
        if (atomic_exchange_explicit(&l->word, 0, memory_order_release) & 0x80000000u) th__futex_wake(&l->word, 1);
        return TH_SHARED_OK;
    }
    return th__owned_unlock_slow(l);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A size: digits with an optional K, M or G (KiB, MiB, GiB), at most 1 TiB.
 * 0, or -1 when `text` is not one. */
int th__shared_parse_size(const char *text, uint64_t *out);

/* ---- the kinds: sizes, initialisation, repair ------------------------ */

uint64_t th__lock_body_size(const th_shared_spec *spec);
int th__lock_init(handle *h);
uint64_t th__semaphore_body_size(const th_shared_spec *spec);
int th__semaphore_init(handle *h);
int th__semaphore_repair(handle *h, int32_t pid);
uint64_t th__event_body_size(const th_shared_spec *spec);
int th__event_init(handle *h);
uint64_t th__barrier_body_size(const th_shared_spec *spec);
int th__barrier_init(handle *h);
int th__barrier_repair(handle *h, int32_t pid);
/* Makes process `pid` a member of the barrier (see events.c). */
void th__barrier_join(handle *h, int32_t pid);
uint64_t th__queue_body_size(const th_shared_spec *spec);
int th__queue_init(handle *h);
int th__queue_repair(handle *h, int32_t pid);
uint64_t th__data_body_size(const th_shared_spec *spec);
int th__data_init(handle *h);

/* The operations table (region.c), and the functions it points at. */
extern const th_shared_api th__shared_api;

int th__op_acquire(th_shared *o, double timeout);
int th__op_release(th_shared *o);
int th__op_condition_wait(th_shared *o, double timeout);
int th__op_condition_notify(th_shared *o, int count);
int th__op_semaphore_acquire(th_shared *o, double timeout);
int th__op_semaphore_release(th_shared *o);
int64_t th__op_semaphore_value(th_shared *o);
int th__op_event_set(th_shared *o);
int th__op_event_clear(th_shared *o);
int th__op_event_is_set(th_shared *o);
int th__op_event_wait(th_shared *o, double timeout);
int th__op_barrier_wait(th_shared *o, double timeout);
int th__op_barrier_reset(th_shared *o);
int32_t th__op_barrier_broken_by(th_shared *o);
int64_t th__op_barrier_waiting(th_shared *o);
int th__op_put(th_shared *o, int end, uint32_t type, const void *data, size_t length, double timeout);
int th__op_get(th_shared *o, int end, uint32_t *type, void *into, size_t capacity, size_t *length, double timeout);
int64_t th__op_count(th_shared *o, int end);
int th__op_put_begin(th_shared *o, int end, uint32_t type, size_t length, th_queue_slot *slot, double timeout);
int th__op_put_commit(th_shared *o, th_queue_slot *slot);
int th__op_get_begin(th_shared *o, int end, th_queue_slot *slot, double timeout);
int th__op_get_end(th_shared *o, th_queue_slot *slot);
uint64_t th__op_value_load(th_shared *o);
void th__op_value_store(th_shared *o, uint64_t bits);
uint64_t th__op_value_add(th_shared *o, uint64_t bits);
int th__op_value_compare_exchange(th_shared *o, uint64_t *expected, uint64_t desired);
void *th__op_data(th_shared *o, size_t *length);
uint32_t th__op_element_type(th_shared *o);

/* The lock of a LOCK, RLOCK, CONDITION, VALUE or ARRAY, or NULL. */
owned_lock *th__object_lock(handle *h);

TH__INTERNAL_END

#endif /* TH_SHARED_INTERNAL_H */
