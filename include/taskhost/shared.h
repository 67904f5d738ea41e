/*
 * taskhost/shared.h — synchronization and inter-process communication
 * between the host and its workers: locks, semaphores, events, conditions,
 * barriers, queues, pipes, shared values, arrays and byte buffers.
 *
 * Included by plugin.h (a task finds objects by name through its context:
 * th_shared_find) and by taskhost.h (an embedding program creates them with
 * th_host_share). The same inline functions below work on both sides: every
 * call goes through the table of function pointers in the handle, so a
 * plugin still links against nothing but libc.
 *
 * Objects live in memory shared by the host and the workers (an anonymous
 * memfd, never a name in /dev/shm: nothing outlives the processes, even
 * after kill -9). The host creates an object; every worker the host starts
 * AFTER that sees it (as Python's objects are shared by inheritance).
 *
 * Crash safety, the guarantee Python's multiprocessing lacks:
 *   - A process that dies holding a lock, rlock, condition, value or array
 *     lock releases it; the next acquire returns TH_SHARED_OWNER_DIED (it
 *     does own the lock) so it can repair what the dead owner left half done.
 *   - A semaphore gets back the units a dead process held (booked for up to
 *     1024 processes holding units at once).
 *   - A barrier with a party that dies while others wait (waiting too, or
 *     before it arrived) breaks: every waiter, and every later arrival until
 *     th_barrier_reset, gets TH_SHARED_BROKEN.
 *   - A queue or pipe is never left with a half-written item visible or a
 *     wedged slot: an item a dead producer had begun to put is dropped, an
 *     item a dead consumer had begun to take is lost with it. Nothing is ever
 *     delivered twice; at most the one item in the dead process's hands is
 *     lost.
 *   - A wait never outlives its task: the host kills a worker whose task
 *     passes its timeout or deadline, whatever it waits on.
 *
 * Return values: 0 (TH_SHARED_OK) or a positive value on success, a
 * negative th_shared_status on failure. Timeouts are seconds: negative waits
 * forever, 0 only tries.
 */
#ifndef TASKHOST_SHARED_H
#define TASKHOST_SHARED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The kinds of shared objects. The numbers are part of the ABI. */
typedef enum th_shared_kind {
    TH_SHARED_LOCK = 1,               /**< a mutex: only its holder releases it */
    TH_SHARED_RLOCK = 2,              /**< a lock its holder may take again */
    TH_SHARED_SEMAPHORE = 3,          /**< a counter of units */
    TH_SHARED_BOUNDED_SEMAPHORE = 4,  /**< never above its initial value */
    TH_SHARED_EVENT = 5,              /**< a flag others wait for */
    TH_SHARED_CONDITION = 6,          /**< a lock plus wait/notify */
    TH_SHARED_BARRIER = 7,            /**< N parties wait for each other */
    TH_SHARED_QUEUE = 8,              /**< bounded FIFO of typed items */
    TH_SHARED_PIPE = 9,               /**< two ends, each sends to the other */
    TH_SHARED_VALUE = 10,             /**< one int64, uint64 or double, atomic, with a lock */
    TH_SHARED_ARRAY = 11,             /**< N numbers of one type, with a lock */
    TH_SHARED_BUFFER = 12             /**< raw bytes for big data, no copies */
} th_shared_kind;

/** Why a call failed (negative) or how it succeeded (0, 1). */
typedef enum th_shared_status {
    TH_SHARED_OK = 0,
    /** Acquired, but its previous holder died holding it. */
    TH_SHARED_OWNER_DIED = 1,
    TH_SHARED_TIMEOUT = -1,    /**< the timeout passed (or, with 0, it would wait) */
    TH_SHARED_BROKEN = -2,     /**< the barrier is broken */
    TH_SHARED_NOT_OWNER = -3,  /**< released by a thread that does not hold it */
    TH_SHARED_TOO_BIG = -4,    /**< the item is larger than the queue's item size */
    TH_SHARED_WRONG_KIND = -5, /**< this call is not for this kind of object */
    TH_SHARED_OVERFLOW = -6,   /**< a bounded semaphore released above its initial value */
    TH_SHARED_SMALL_BUFFER = -7, /**< the item does not fit the caller's buffer (it stays queued) */
    TH_SHARED_WOULD_DEADLOCK = -8 /**< the caller already holds this LOCK */
} th_shared_status;

/** A slot of a queue or pipe being written or read in place (zero copy):
 *  filled by th_queue_put_begin / th_queue_get_begin. */
typedef struct th_queue_slot {
    void *data;        /**< the item's bytes, in shared memory */
    size_t length;     /**< their length */
    uint32_t type;     /**< the item's type */
    uint32_t end;      /**< the queue end it belongs to */
    uint64_t position; /**< for the implementation */
} th_queue_slot;

/** A process's handle to a shared object (opaque beyond `api`). Handles
 *  from th_shared_find live as long as the worker. */
typedef struct th_shared th_shared;

/* The item types of queues and pipes are plugin.h's th_type numbers
 * (TH_BOOL ... TH_BYTES); any other number is carried as given. */

/** The operations on shared objects. Grows only at its end (check `size`). */
typedef struct th_shared_api {
    uint32_t size; /**< sizeof(th_shared_api) as the implementation knows it */
    uint32_t reserved;
    th_shared_kind (*kind)(th_shared *object);
    const char *(*name)(th_shared *object);
    int (*acquire)(th_shared *object, double timeout);
    int (*release)(th_shared *object);
    int (*condition_wait)(th_shared *condition, double timeout);
    int (*condition_notify)(th_shared *condition, int count);
    int (*semaphore_acquire)(th_shared *semaphore, double timeout);
    int (*semaphore_release)(th_shared *semaphore);
    int64_t (*semaphore_value)(th_shared *semaphore);
    int (*event_set)(th_shared *event);
    int (*event_clear)(th_shared *event);
    int (*event_is_set)(th_shared *event);
    int (*event_wait)(th_shared *event, double timeout);
    int (*barrier_wait)(th_shared *barrier, double timeout);
    int (*barrier_reset)(th_shared *barrier);
    int32_t (*barrier_broken_by)(th_shared *barrier);
    int (*put)(th_shared *queue, int end, uint32_t type, const void *data, size_t length, double timeout);
    int (*get)(th_shared *queue, int end, uint32_t *type, void *into, size_t capacity, size_t *length,
               double timeout);
    int64_t (*count)(th_shared *queue, int end);
    uint64_t (*value_load)(th_shared *value);
    void (*value_store)(th_shared *value, uint64_t bits);
    uint64_t (*value_add)(th_shared *value, uint64_t bits);
    int (*value_compare_exchange)(th_shared *value, uint64_t *expected_bits, uint64_t desired_bits);
    void *(*data)(th_shared *object, size_t *length);
    uint32_t (*element_type)(th_shared *object);
    int (*put_begin)(th_shared *queue, int end, uint32_t type, size_t length, th_queue_slot *slot, double timeout);
    int (*put_commit)(th_shared *queue, th_queue_slot *slot);
    int (*get_begin)(th_shared *queue, int end, th_queue_slot *slot, double timeout);
    int (*get_end)(th_shared *queue, th_queue_slot *slot);
    /* ---- added in TaskHost 1.1 after the above; check `size` ---- */
    int64_t (*barrier_waiting)(th_shared *barrier);
} th_shared_api;

struct th_shared {
    const th_shared_api *api;
};

/* ---- every kind ------------------------------------------------------- */

static inline th_shared_kind th_shared_kind_of(th_shared *o) { return o->api->kind(o); }
static inline const char *th_shared_name(th_shared *o) { return o->api->name(o); }

/* ---- locks: LOCK, RLOCK, CONDITION, and the lock of VALUE and ARRAY ---- */

/** Takes the lock: TH_SHARED_OK, TH_SHARED_OWNER_DIED (taken; its last
 *  holder died holding it), or TH_SHARED_TIMEOUT. A LOCK taken again by the
 *  thread holding it fails with TH_SHARED_WOULD_DEADLOCK; an RLOCK counts
 *  (release it as many times). */
static inline int th_lock_acquire(th_shared *o, double timeout) { return o->api->acquire(o, timeout); }
/** Releases the lock: TH_SHARED_OK or TH_SHARED_NOT_OWNER. */
static inline int th_lock_release(th_shared *o) { return o->api->release(o); }

/* ---- CONDITION: a lock plus wait/notify (Python's Condition) ----------- */

/** With the condition's lock held: releases it, waits for a notify or the
 *  timeout, takes it again. TH_SHARED_OK, TH_SHARED_TIMEOUT (lock held
 *  again), or TH_SHARED_OWNER_DIED (notified or not, the lock came back
 *  from a dead holder). Spurious wake-ups happen: wait in a loop. */
static inline int th_condition_wait(th_shared *o, double timeout) { return o->api->condition_wait(o, timeout); }
/** Wakes up to `count` waiters (-1: all). */
static inline int th_condition_notify(th_shared *o, int count) { return o->api->condition_notify(o, count); }

/* ---- SEMAPHORE, BOUNDED_SEMAPHORE ------------------------------------- */

/** Takes one unit: TH_SHARED_OK or TH_SHARED_TIMEOUT. */
static inline int th_semaphore_acquire(th_shared *o, double timeout) { return o->api->semaphore_acquire(o, timeout); }
/** Gives one unit back (anyone may): TH_SHARED_OK or TH_SHARED_OVERFLOW. */
static inline int th_semaphore_release(th_shared *o) { return o->api->semaphore_release(o); }
/** The units free now. */
static inline int64_t th_semaphore_value(th_shared *o) { return o->api->semaphore_value(o); }

/* ---- EVENT ------------------------------------------------------------ */

static inline int th_event_set(th_shared *o) { return o->api->event_set(o); }
static inline int th_event_clear(th_shared *o) { return o->api->event_clear(o); }
/** 1 when set, 0 when not. */
static inline int th_event_is_set(th_shared *o) { return o->api->event_is_set(o); }
/** Waits until set: TH_SHARED_OK or TH_SHARED_TIMEOUT. */
static inline int th_event_wait(th_shared *o, double timeout) { return o->api->event_wait(o, timeout); }

/* ---- BARRIER ---------------------------------------------------------- */

/* A process that finds a barrier (th_shared_find) or waits at it is one of
 * its parties from then on. If a party dies while others wait, whether it
 * was waiting too or had not arrived yet, the barrier breaks for them. */

/** Waits until all parties arrived: returns this party's arrival index
 *  (0 .. parties-1), or TH_SHARED_BROKEN (a party died, one timed out, or
 *  the barrier was reset), or TH_SHARED_TIMEOUT (which breaks the barrier
 *  for the others, as Python's does). */
static inline int th_barrier_wait(th_shared *o, double timeout) { return o->api->barrier_wait(o, timeout); }
/** Repairs a broken barrier; parties waiting now get TH_SHARED_BROKEN. */
static inline int th_barrier_reset(th_shared *o) { return o->api->barrier_reset(o); }
/** The pid of the party whose death broke the barrier, 0 if none did. */
static inline int32_t th_barrier_broken_by(th_shared *o) { return o->api->barrier_broken_by(o); }
/** The parties waiting now (Python's n_waiting); 0 when broken. -1 from a
 *  host older than this call. */
static inline int64_t th_barrier_waiting(th_shared *o) {
    if (o->api->size < offsetof(th_shared_api, barrier_waiting) + sizeof o->api->barrier_waiting) return -1;
    return o->api->barrier_waiting(o);
}

/* ---- QUEUE and PIPE ---------------------------------------------------- *
 * An item is a type (a th_type number) and up to the queue's item size of
 * bytes, copied in and out. `end` is 0 for a queue; a pipe has ends 0 and 1,
 * and what one end puts the other end gets.                               */

/** Puts an item, waiting while the queue is full: TH_SHARED_OK,
 *  TH_SHARED_TIMEOUT or TH_SHARED_TOO_BIG. */
static inline int th_queue_put(th_shared *q, uint32_t type, const void *data, size_t length, double timeout) {
    return q->api->put(q, 0, type, data, length, timeout);
}
/** Takes the oldest item, waiting while the queue is empty: its type into
 *  *type, its bytes into `into` (capacity bytes), its length into *length.
 *  TH_SHARED_OK, TH_SHARED_TIMEOUT, or TH_SHARED_SMALL_BUFFER (*length says
 *  what it needs; the item stays queued). */
static inline int th_queue_get(th_shared *q, uint32_t *type, void *into, size_t capacity, size_t *length,
                               double timeout) {
    return q->api->get(q, 0, type, into, capacity, length, timeout);
}
static inline int th_queue_put_int64(th_shared *q, int64_t v, double timeout) {
    return q->api->put(q, 0, 3 /* TH_INT64 */, &v, sizeof v, timeout);
}
/** Takes an item that must be an int64; TH_SHARED_WRONG_KIND (item dropped) otherwise. */
static inline int th_queue_get_int64(th_shared *q, int64_t *v, double timeout) {
    uint32_t type = 0;
    size_t length = 0;
    int rc = q->api->get(q, 0, &type, v, sizeof *v, &length, timeout);
    if (rc == 0 && (type != 3 || length != sizeof *v)) return TH_SHARED_WRONG_KIND;
    return rc;
}
/** Zero copy: reserves the next slot for an item of `length` bytes and
 *  points slot->data at it; write the bytes there, then th_queue_put_commit.
 *  Nobody sees the item before its commit; if this process dies before
 *  committing, the slot is dropped. TH_SHARED_OK, TH_SHARED_TIMEOUT,
 *  TH_SHARED_TOO_BIG. */
static inline int th_queue_put_begin(th_shared *q, uint32_t type, size_t length, th_queue_slot *slot, double timeout) {
    return q->api->put_begin(q, 0, type, length, slot, timeout);
}
static inline int th_queue_put_commit(th_shared *q, th_queue_slot *slot) { return q->api->put_commit(q, slot); }
/** Zero copy: takes the oldest item in place (slot->data, ->length, ->type);
 *  read it, then th_queue_get_end frees the slot. An item whose reader dies
 *  before th_queue_get_end is lost, never delivered twice. */
static inline int th_queue_get_begin(th_shared *q, th_queue_slot *slot, double timeout) {
    return q->api->get_begin(q, 0, slot, timeout);
}
static inline int th_queue_get_end(th_shared *q, th_queue_slot *slot) { return q->api->get_end(q, slot); }
/** Items in the queue now (for a pipe: waiting for `end`). */
static inline int64_t th_queue_count(th_shared *q) { return q->api->count(q, 0); }
/** Sends from pipe end `end` (0 or 1) to the other end. */
static inline int th_pipe_send(th_shared *p, int end, uint32_t type, const void *data, size_t length, double timeout) {
    return p->api->put(p, end, type, data, length, timeout);
}
/** Receives at pipe end `end` what the other end sent. */
static inline int th_pipe_recv(th_shared *p, int end, uint32_t *type, void *into, size_t capacity, size_t *length,
                               double timeout) {
    return p->api->get(p, end, type, into, capacity, length, timeout);
}

/* ---- VALUE: 64 bits, atomic; its type is th_shared_element_type -------- */

static inline int64_t th_value_load_int64(th_shared *o) { return (int64_t)o->api->value_load(o); }
static inline void th_value_store_int64(th_shared *o, int64_t v) { o->api->value_store(o, (uint64_t)v); }
/** Adds atomically (wrapping); returns the new value. For int64 and uint64 values. */
static inline int64_t th_value_add_int64(th_shared *o, int64_t delta) {
    return (int64_t)o->api->value_add(o, (uint64_t)delta);
}
static inline uint64_t th_value_load_uint64(th_shared *o) { return o->api->value_load(o); }
static inline double th_value_load_double(th_shared *o) {
    uint64_t bits = o->api->value_load(o);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
static inline void th_value_store_double(th_shared *o, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof v);
    o->api->value_store(o, bits);
}
/** Adds atomically to a double value; returns the new value. */
static inline double th_value_add_double(th_shared *o, double delta) {
    uint64_t bits, sum;
    memcpy(&bits, &delta, sizeof delta);
    sum = o->api->value_add(o, bits);
    memcpy(&delta, &sum, sizeof delta);
    return delta;
}
/** If the value's bits equal *expected, stores `desired` and returns 1;
 *  otherwise loads the current bits into *expected and returns 0. */
static inline int th_value_compare_exchange(th_shared *o, uint64_t *expected, uint64_t desired) {
    return o->api->value_compare_exchange(o, expected, desired);
}

/* ---- ARRAY, BUFFER: memory every process sees -------------------------- */

/** The object's memory and its size in bytes: an ARRAY's elements, a
 *  BUFFER's bytes, a VALUE's 8 bytes. Writes are seen by every process. */
static inline void *th_shared_data(th_shared *o, size_t *length) { return o->api->data(o, length); }
/** The th_type of a VALUE's or an ARRAY's elements (TH_INT32, TH_INT64,
 *  TH_UINT64, TH_DOUBLE; an ARRAY also TH_BOOL as uint8_t), 0 otherwise. */
static inline uint32_t th_shared_element_type(th_shared *o) { return o->api->element_type(o); }

#ifdef __cplusplus
}
#endif

#endif /* TASKHOST_SHARED_H */
