/* VALUE, ARRAY and BUFFER: memory every process sees (taskhost/shared.h). */
#include "shared_internal.h"

#include <string.h>

#define BUFFER_ALIGNMENT 4096 /* a buffer's bytes start on a page */

typedef struct data_body {
    owned_lock lock;             /* VALUE, ARRAY: their lock */
    _Alignas(8) _Atomic uint64_t bits; /* VALUE */
    uint64_t data;               /* ARRAY, BUFFER: offset of the bytes from the body */
    uint64_t length;             /* their length */
} data_body;

static uint64_t element_width(uint32_t type) {
    switch (type) {
    case TH_BOOL: return 1;
    case TH_INT32: return 4;
    default: return 8;
    }
}

static uint64_t data_offset(uint32_t kind) {
    /* An array's elements start on a cache line; a buffer's bytes on a page
     * of the region (the body starts BODY_OFFSET bytes in). */
    return kind == TH_SHARED_BUFFER ? BUFFER_ALIGNMENT - BODY_OFFSET
                                    : (sizeof(data_body) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
}

uint64_t th__data_body_size(const th_shared_spec *spec) {
    switch (spec->kind) {
    case TH_SHARED_ARRAY: return data_offset(spec->kind) + spec->count * element_width(spec->element_type);
    case TH_SHARED_BUFFER: return data_offset(spec->kind) + spec->count;
    default: return sizeof(data_body);
    }
}

int th__data_init(handle *h) {
    data_body *b = h->body;
    uint32_t kind = h->header->kind;
    if (kind == TH_SHARED_VALUE) atomic_store(&b->bits, (uint64_t)h->header->initial);
    if (kind != TH_SHARED_VALUE) {
        b->data = data_offset(kind);
        b->length = kind == TH_SHARED_ARRAY ? h->header->count * element_width(h->header->element_type)
                                            : h->header->count;
    }
    if (kind != TH_SHARED_BUFFER) th__owned_init(&b->lock, 0);
    return 0;
}

owned_lock *th__object_lock(handle *h) {
    switch (h->header->kind) {
    case TH_SHARED_LOCK:
    case TH_SHARED_RLOCK:
    case TH_SHARED_CONDITION: return (owned_lock *)h->body; /* a lock body starts with it */
    case TH_SHARED_VALUE:
    case TH_SHARED_ARRAY: return &((data_body *)h->body)->lock;
    default: return NULL;
    }
}

static data_body *value_of(th_shared *o) {
    handle *h = as_handle(o);
    return h->header->kind == TH_SHARED_VALUE ? h->body : NULL;
}

uint64_t th__op_value_load(th_shared *o) {
    data_body *b = value_of(o);
    return b ? atomic_load(&b->bits) : 0;
}

void th__op_value_store(th_shared *o, uint64_t bits) {
    data_body *b = value_of(o);
    if (b) atomic_store(&b->bits, bits);
}

uint64_t th__op_value_add(th_shared *o, uint64_t delta) {
    data_body *b = value_of(o);
    if (!b) return 0;
    if (as_handle(o)->header->element_type != TH_DOUBLE) return atomic_fetch_add(&b->bits, delta) + delta;
    double add, sum;
    memcpy(&add, &delta, sizeof add);
    uint64_t old = atomic_load(&b->bits), updated;
    do {
        memcpy(&sum, &old, sizeof sum);
        sum += add;
        memcpy(&updated, &sum, sizeof updated);
    } while (!atomic_compare_exchange_weak(&b->bits, &old, updated));
    return updated;
}

int th__op_value_compare_exchange(th_shared *o, uint64_t *expected, uint64_t desired) {
    data_body *b = value_of(o);
    return b ? atomic_compare_exchange_strong(&b->bits, expected, desired) : 0;
}

void *th__op_data(th_shared *o, size_t *length) {
    handle *h = as_handle(o);
    data_body *b = h->body;
    switch (h->header->kind) {
    case TH_SHARED_VALUE:
        if (length) *length = sizeof(uint64_t);
        return (void *)&b->bits;
    case TH_SHARED_ARRAY:
    case TH_SHARED_BUFFER:
        if (length) *length = (size_t)b->length;
        return (uint8_t *)b + b->data;
    default:
        if (length) *length = 0;
        return NULL;
    }
}

uint32_t th__op_element_type(th_shared *o) {
    handle *h = as_handle(o);
    uint32_t kind = h->header->kind;
    return kind == TH_SHARED_VALUE || kind == TH_SHARED_ARRAY ? h->header->element_type : 0;
}
