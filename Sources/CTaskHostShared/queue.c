/* QUEUE and PIPE: bounded rings of typed items (taskhost/shared.h).
 *
 * Each slot carries a sequence number: slot i is free for the item at
 * position p (p % capacity == i) when seq == p, holds a committed item
 * when seq == p + 1, and is free for position p + capacity once read.
 * Producers claim positions under one robust mutex, consumers under
 * another; the bytes are copied outside them, and the slot's `owner` says
 * who is copying. So when a process dies the host knows exactly which slot
 * it had in its hands:
 *   - claimed by a producer, not committed: dropped (marked a hole that
 *     consumers skip); the half-written item is never seen;
 *   - claimed by a consumer, not yet freed: freed; that item is lost.
 * Nothing else is lost and nothing is delivered twice.
 */
#include "shared_internal.h"

#include <string.h>
#include <unistd.h>

#define HOLE UINT32_MAX

typedef struct slot {
    _Atomic uint64_t seq;
    int32_t owner;  /* the process copying in or out */
    uint32_t type;
    uint64_t length;
    uint64_t reserved;
    /* item bytes follow */
} slot;

typedef struct ring {
    _Alignas(CACHE_LINE) pthread_mutex_t put_mutex;
    uint64_t tail;            /* next position to put */
    waitpoint space;          /* producers wait here */
    _Alignas(CACHE_LINE) pthread_mutex_t get_mutex;
    uint64_t head;            /* next position to get */
    waitpoint items;          /* consumers wait here */
    _Alignas(CACHE_LINE) uint64_t capacity;
    uint64_t item_size;
    uint64_t stride;          /* bytes per slot */
    uint64_t slots;           /* offset of slot 0 from the ring */
} ring;

static uint64_t ring_stride(uint64_t item_size) {
    return (sizeof(slot) + item_size + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

static uint64_t ring_size(const th_shared_spec *spec) {
    return sizeof(ring) + spec->count * ring_stride(spec->item_size);
}

uint64_t th__queue_body_size(const th_shared_spec *spec) {
    return ring_size(spec) * (spec->kind == TH_SHARED_PIPE ? 2 : 1);
}

static ring *ring_of(handle *h, int end) {
    return (ring *)((uint8_t *)h->body + (uint64_t)end * ring_size(&(th_shared_spec){
        .kind = TH_SHARED_QUEUE, .count = h->header->count, .item_size = h->header->item_size}));
}

static slot *slot_at(ring *r, uint64_t position) {
    return (slot *)((uint8_t *)r + r->slots + (position % r->capacity) * r->stride);
}

static void *slot_data(slot *s) { return s + 1; }

static int ring_init(ring *r, const region_header *header) {
    r->capacity = header->count;
    r->item_size = header->item_size;
    r->stride = ring_stride(header->item_size);
    r->slots = sizeof(ring);
    for (uint64_t i = 0; i < r->capacity; i++) atomic_store(&slot_at(r, i)->seq, i);
    return th__mutex_init(&r->put_mutex) || th__mutex_init(&r->get_mutex) ? -1 : 0;
}

int th__queue_init(handle *h) {
    int ends = h->header->kind == TH_SHARED_PIPE ? 2 : 1;
    for (int e = 0; e < ends; e++)
        if (ring_init(ring_of(h, e), h->header) != 0) return -1;
    return 0;
}

/* The ring a call on `end` uses: a queue has one; pipe end e gets from
 * ring e and puts into the other. */
static ring *ring_for(th_shared *o, int end, int putting) {
    handle *h = as_handle(o);
    if (h->header->kind == TH_SHARED_QUEUE) return end == 0 ? ring_of(h, 0) : NULL;
    if (h->header->kind != TH_SHARED_PIPE || (end != 0 && end != 1)) return NULL;
    return ring_of(h, putting ? 1 - end : end);
}

/* Locks a ring's mutex. A holder that died left the positions consistent
 * (each is one store); its slot, if any, is the host's to repair. */
static int lock_ring(pthread_mutex_t *m, const deadline *d) {
    int rc = th__mutex_lock(m, d);
    return rc == TH_SHARED_OWNER_DIED ? TH_SHARED_OK : rc;
}

typedef struct probe {
    ring *r;
    int putting;
} probe;

static int can_go(void *arg) {
    probe *p = arg;
    uint64_t position = __atomic_load_n(p->putting ? &p->r->tail : &p->r->head, __ATOMIC_SEQ_CST);
    return atomic_load(&slot_at(p->r, position)->seq) == position + (p->putting ? 0 : 1);
}

/* The deadline of a call, read from the clock only once it has to wait:
 * most puts and gets never do, and the clock costs as much as they do. */
static const deadline first_look = {{0, 0}, 0, 1};

static void start_clock(deadline *d, double timeout) {
    if (d->try_only && !d->forever && d->at.tv_sec == 0 && d->at.tv_nsec == 0) *d = th__deadline_in(timeout);
}

int th__op_put_begin(th_shared *o, int end, uint32_t type, size_t length, th_queue_slot *out, double timeout) {
    ring *r = ring_for(o, end, 1);
    if (!r) return TH_SHARED_WRONG_KIND;
    if (length > r->item_size) return TH_SHARED_TOO_BIG;
    deadline d = first_look;
    probe p = {r, 1};
    for (int looked = 0;; looked = 1) {
        int rc = lock_ring(&r->put_mutex, &d);
        if (rc == TH_SHARED_TIMEOUT && !looked) {
            start_clock(&d, timeout);
            continue;
        }
        if (rc != TH_SHARED_OK) return rc;
        uint64_t position = r->tail;
        slot *s = slot_at(r, position);
        if (atomic_load(&s->seq) == position) {
            s->owner = th__self_pid(); /* before the claim: the host must see who holds it */
            __atomic_store_n(&r->tail, position + 1, __ATOMIC_SEQ_CST);
            th__mutex_unlock(&r->put_mutex);
            s->type = type;
            s->length = length;
            *out = (th_queue_slot){slot_data(s), length, type, (uint32_t)end, position};
            return TH_SHARED_OK;
        }
        th__mutex_unlock(&r->put_mutex);
        start_clock(&d, timeout);
        rc = th__waitpoint_wait(&r->space, can_go, &p, &d);
        if (rc != TH_SHARED_OK) return rc;
    }
}

int th__op_put_commit(th_shared *o, th_queue_slot *in) {
    ring *r = ring_for(o, (int)in->end, 1);
    if (!r) return TH_SHARED_WRONG_KIND;
    atomic_store(&slot_at(r, in->position)->seq, in->position + 1);
    th__waitpoint_wake(&r->items, 1);
    return TH_SHARED_OK;
}

int th__op_get_begin(th_shared *o, int end, th_queue_slot *out, double timeout) {
    ring *r = ring_for(o, end, 0);
    if (!r) return TH_SHARED_WRONG_KIND;
    deadline d = first_look;
    probe p = {r, 0};
    for (int looked = 0;; looked = 1) {
        int rc = lock_ring(&r->get_mutex, &d);
        if (rc == TH_SHARED_TIMEOUT && !looked) {
            start_clock(&d, timeout);
            continue;
        }
        if (rc != TH_SHARED_OK) return rc;
        uint64_t position = r->head;
        slot *s = slot_at(r, position);
        if (atomic_load(&s->seq) == position + 1) {
            s->owner = th__self_pid();
            __atomic_store_n(&r->head, position + 1, __ATOMIC_SEQ_CST);
            th__mutex_unlock(&r->get_mutex);
            if (s->type == HOLE) { /* a dead producer's slot: skip it */
                atomic_store(&s->seq, position + r->capacity);
                th__waitpoint_wake(&r->space, 1);
                continue;
            }
            *out = (th_queue_slot){slot_data(s), (size_t)s->length, s->type, (uint32_t)end, position};
            return TH_SHARED_OK;
        }
        th__mutex_unlock(&r->get_mutex);
        start_clock(&d, timeout);
        rc = th__waitpoint_wait(&r->items, can_go, &p, &d);
        if (rc != TH_SHARED_OK) return rc;
    }
}

int th__op_get_end(th_shared *o, th_queue_slot *in) {
    ring *r = ring_for(o, (int)in->end, 0);
    if (!r) return TH_SHARED_WRONG_KIND;
    atomic_store(&slot_at(r, in->position)->seq, in->position + r->capacity);
    th__waitpoint_wake(&r->space, 1);
    return TH_SHARED_OK;
}

int th__op_put(th_shared *o, int end, uint32_t type, const void *data, size_t length, double timeout) {
    th_queue_slot s;
    int rc = th__op_put_begin(o, end, type, length, &s, timeout);
    if (rc != TH_SHARED_OK) return rc;
    if (length) memcpy(s.data, data, length);
    return th__op_put_commit(o, &s);
}

int th__op_get(th_shared *o, int end, uint32_t *type, void *into, size_t capacity, size_t *length, double timeout) {
    ring *r = ring_for(o, end, 0);
    if (!r) return TH_SHARED_WRONG_KIND;
    /* Refuse before taking the item, so it stays queued. */
    if (capacity < r->item_size) {
        deadline d = th__deadline_in(timeout);
        probe p = {r, 0};
        int rc = th__waitpoint_wait(&r->items, can_go, &p, &d);
        if (rc != TH_SHARED_OK) return rc;
        slot *s = slot_at(r, __atomic_load_n(&r->head, __ATOMIC_SEQ_CST));
        if (s->type != HOLE && s->length > capacity) {
            if (length) *length = (size_t)s->length;
            return TH_SHARED_SMALL_BUFFER;
        }
    }
    th_queue_slot s;
    int rc = th__op_get_begin(o, end, &s, timeout);
    if (rc != TH_SHARED_OK) return rc;
    if (s.length > capacity) { /* raced with another consumer to a bigger item: it is ours now */
        th__op_get_end(o, &s);
        if (length) *length = s.length;
        return TH_SHARED_SMALL_BUFFER;
    }
    if (s.length) memcpy(into, s.data, s.length);
    if (type) *type = s.type;
    if (length) *length = s.length;
    return th__op_get_end(o, &s);
}

int64_t th__op_count(th_shared *o, int end) {
    ring *r = ring_for(o, end, 0);
    if (!r) return TH_SHARED_WRONG_KIND;
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST);
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_SEQ_CST);
    return tail > head ? (int64_t)(tail - head) : 0;
}

static int ring_repair(ring *r, int32_t pid) {
    int fixed = 0;
    deadline forever = th__deadline_in(-1);
    lock_ring(&r->put_mutex, &forever);
    for (uint64_t i = 0; i < r->capacity; i++) {
        slot *s = (slot *)((uint8_t *)r + r->slots + i * r->stride);
        uint64_t seq = atomic_load(&s->seq);
        /* Claimed by a producer (position == seq, before the tail), not committed. */
        if (seq % r->capacity == i && seq < r->tail && s->owner == pid) {
            s->type = HOLE;
            s->length = 0;
            atomic_store(&s->seq, seq + 1);
            fixed++;
        }
    }
    th__mutex_unlock(&r->put_mutex);
    lock_ring(&r->get_mutex, &forever);
    for (uint64_t i = 0; i < r->capacity; i++) {
        slot *s = (slot *)((uint8_t *)r + r->slots + i * r->stride);
        uint64_t seq = atomic_load(&s->seq);
        /* Claimed by a consumer (position == seq - 1, before the head), not freed. */
        if (seq > 0 && (seq - 1) % r->capacity == i && seq - 1 < r->head && s->owner == pid) {
            atomic_store(&s->seq, seq - 1 + r->capacity);
            fixed++;
        }
    }
    th__mutex_unlock(&r->get_mutex);
    if (fixed) {
        atomic_fetch_add(&r->items.seq, 1);
        th__futex_wake(&r->items.seq, -1);
        atomic_fetch_add(&r->space.seq, 1);
        th__futex_wake(&r->space.seq, -1);
    }
    return fixed;
}

int th__queue_repair(handle *h, int32_t pid) {
    int ends = h->header->kind == TH_SHARED_PIPE ? 2 : 1, fixed = 0;
    for (int e = 0; e < ends; e++) fixed += ring_repair(ring_of(h, e), pid);
    return fixed;
}
