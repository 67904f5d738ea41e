/*
 * th_shared_core.h — shared objects (include/taskhost/shared.h) as the host
 * and the fork server handle them: parse a spec ("queue:1024"), create an
 * object in a memfd, map one from its descriptor, repair what a dead
 * process held, and find objects by name in this process.
 *
 * Creation and repair happen in the host; the fork server maps every object
 * before it forks, so each worker inherits the mappings (no descriptor stays
 * open in a worker). Inside a region every reference is an offset, because
 * each process maps it at its own address.
 */
#ifndef TH_SHARED_CORE_H
#define TH_SHARED_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "../../../include/taskhost/plugin.h" /* include/taskhost/plugin.h, which includes shared.h */
#include "../../CTaskHost/include/th_visibility.h"

TH__INTERNAL_BEGIN

/** The longest object name, without its NUL. Names: [A-Za-z0-9_.-]+. */
#define TH_SHARED_NAME_MAX 63

/** What to create: a kind and its parameters, as parsed from a spec. */
typedef struct th_shared_spec {
    th_shared_kind kind;
    uint32_t element_type; /**< VALUE, ARRAY: a th_type */
    uint64_t count;        /**< QUEUE, PIPE: capacity; ARRAY: elements; BUFFER: bytes; BARRIER: parties */
    uint64_t item_size;    /**< QUEUE, PIPE: the largest item in bytes */
    int64_t initial;       /**< SEMAPHORE: units; VALUE: initial bits */
} th_shared_spec;

/**
 * Parses a spec: lock, rlock, event, condition, semaphore[:N] (1),
 * bounded_semaphore[:N] (1), barrier:N, queue[:CAPACITY[:ITEM_SIZE]]
 * (1024, 256), pipe[:CAPACITY[:ITEM_SIZE]] (64, 256),
 * value[:TYPE[:INITIAL]] (int64, 0), array:TYPE:COUNT, buffer:SIZE.
 * TYPE: bool, int32, int64, uint64, double. Sizes take K, M, G (KiB, MiB,
 * GiB). Returns 0, or -1 with the reason in `error`.
 */
int th__shared_parse_spec(const char *text, th_shared_spec *spec, char *error, size_t error_size);

/** The spec's canonical text ("queue:1024:256"), into `out`. */
void th__shared_format_spec(const th_shared_spec *spec, char *out, size_t out_size);

/** Whether `name` is a valid object name (1) or not (0). */
int th__shared_valid_name(const char *name);

/**
 * Creates an object in a new memfd and maps it here. Returns the handle and
 * the memfd (close-on-exec) in *fd, or NULL with the reason in `error`.
 */
th_shared *th__shared_create(const char *name, const th_shared_spec *spec, int *fd, char *error, size_t error_size);

/** Maps an object from its memfd after checking its header. NULL with the
 *  reason in `error` when it is not a valid object. */
th_shared *th__shared_map(int fd, char *error, size_t error_size);

/** Unmaps and frees a handle (removing it from the registry first). */
void th__shared_close(th_shared *object);

/** The bytes of the object's region (what a memfd holds). */
uint64_t th__shared_region_size(th_shared *object);

/** Fills `spec` with what the object was created from. */
void th__shared_get_spec(th_shared *object, th_shared_spec *spec);

/**
 * Repairs what process `pid` (now dead) held in `object`: the semaphore
 * units it had, a barrier it was a member of (it found the barrier or
 * waited at it) while others wait there (broken), the queue slot it was
 * writing (dropped) or reading (freed), the lock it held (freed: the next
 * holder is told TH_SHARED_OWNER_DIED). Returns how many things it fixed.
 */
int th__shared_repair(th_shared *object, int32_t pid);

/* ---- views: the arguments of TH_SHARED_BYTES parameters --------------- */

/** A view of a shared buffer as its text says: "NAME" (all of it),
 *  "NAME:OFFSET" (from OFFSET to the end), "NAME:OFFSET:LENGTH". */
typedef struct th_shared_view {
    char name[TH_SHARED_NAME_MAX + 1];
    uint64_t offset;
    uint64_t length; /**< when not `whole` */
    int whole;       /**< no LENGTH: to the buffer's end */
} th_shared_view;

/** Parses a view's text (sizes take K, M, G). 0, or -1 with the reason. */
int th__shared_parse_view(const char *text, th_shared_view *view, char *error, size_t error_size);

/**
 * The bytes a view names among this process's registered objects: a
 * pointer into the buffer's mapping (no copy) and the length. 0, or -1
 * with the reason (bad text, no buffer of that name, outside the buffer).
 */
int th__shared_resolve_view(const char *text, void **data, size_t *length, char *error, size_t error_size);

/* ---- the registry: this process's objects, by id and name ------------ */

/** Adds a handle under `id` (the host's number for it). -1 when out of memory. */
int th__shared_register(uint32_t id, th_shared *object);
/** Maps the object in memfd `fd` (left open) and registers it under `id`:
 *  the fork server's side of TH_MSG_SHARE. 0, or -1 when it is no object. */
int th__shared_adopt(uint32_t id, int fd);
/** Removes and returns the handle registered under `id` (NULL if none). */
th_shared *th__shared_unregister(uint32_t id);
/** The registered handle named `name`, or NULL. Finding a BARRIER makes
 *  the calling process one of its members (see th__shared_repair). */
th_shared *th__shared_find_name(const char *name);
/** Whether the party whose death broke this barrier (th_barrier_broken_by)
 *  died while waiting (1) or before it arrived (0). */
int th__barrier_died_waiting(th_shared *barrier);
/** Repairs every registered object for dead process `pid`; returns th__shared_repair's total. */
int th__shared_repair_all(int32_t pid);

TH__INTERNAL_END

#endif /* TH_SHARED_CORE_H */
