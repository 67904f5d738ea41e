/* Regions: create, map, close, repair, and this process's registry
 * (th_shared_core.h). */
#include "shared_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static th_shared_kind kind_of(th_shared *o) { return (th_shared_kind)as_handle(o)->header->kind; }
static const char *name_of(th_shared *o) { return as_handle(o)->header->name; }

const th_shared_api th__shared_api = {
    sizeof(th_shared_api), 0, kind_of, name_of,
    th__op_acquire, th__op_release, th__op_condition_wait, th__op_condition_notify,
    th__op_semaphore_acquire, th__op_semaphore_release, th__op_semaphore_value,
    th__op_event_set, th__op_event_clear, th__op_event_is_set, th__op_event_wait,
    th__op_barrier_wait, th__op_barrier_reset, th__op_barrier_broken_by,
    th__op_put, th__op_get, th__op_count,
    th__op_value_load, th__op_value_store, th__op_value_add, th__op_value_compare_exchange,
    th__op_data, th__op_element_type,
    th__op_put_begin, th__op_put_commit, th__op_get_begin, th__op_get_end,
    th__op_barrier_waiting,
};

static uint64_t body_size(const th_shared_spec *spec) {
    switch (spec->kind) {
    case TH_SHARED_LOCK: case TH_SHARED_RLOCK: case TH_SHARED_CONDITION: return th__lock_body_size(spec);
    case TH_SHARED_SEMAPHORE: case TH_SHARED_BOUNDED_SEMAPHORE: return th__semaphore_body_size(spec);
    case TH_SHARED_EVENT: return th__event_body_size(spec);
    case TH_SHARED_BARRIER: return th__barrier_body_size(spec);
    case TH_SHARED_QUEUE: case TH_SHARED_PIPE: return th__queue_body_size(spec);
    default: return th__data_body_size(spec);
    }
}

static int init_body(handle *h) {
    switch (h->header->kind) {
    case TH_SHARED_LOCK: case TH_SHARED_RLOCK: case TH_SHARED_CONDITION: return th__lock_init(h);
    case TH_SHARED_SEMAPHORE: case TH_SHARED_BOUNDED_SEMAPHORE: return th__semaphore_init(h);
    case TH_SHARED_EVENT: return th__event_init(h);
    case TH_SHARED_BARRIER: return th__barrier_init(h);
    case TH_SHARED_QUEUE: case TH_SHARED_PIPE: return th__queue_init(h);
    default: return th__data_init(h);
    }
}

static handle *new_handle(uint8_t *region, uint64_t size) {
    handle *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->base.api = &th__shared_api;
    h->region = region;
    h->size = size;
    h->header = (region_header *)region;
    h->body = region + BODY_OFFSET;
    return h;
}

th_shared *th__shared_create(const char *name, const th_shared_spec *spec, int *fd, char *error, size_t error_size) {
    if (!th__shared_valid_name(name)) {
        snprintf(error, error_size, "bad shared object name '%s': 1 to %d of A-Z a-z 0-9 _ - .", name ? name : "",
                 TH_SHARED_NAME_MAX);
        return NULL;
    }
    uint64_t size = (BODY_OFFSET + body_size(spec) + 4095) / 4096 * 4096;
    /* No name in /dev/shm: the memory goes when the last process mapping it does. */
    int memfd = memfd_create("taskhost-shared", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)size) != 0) {
        snprintf(error, error_size, "cannot create shared object '%s' (%llu bytes): %s", name,
                 (unsigned long long)size, strerror(errno));
        if (memfd >= 0) close(memfd);
        return NULL;
    }
    uint8_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    handle *h = region == MAP_FAILED ? NULL : new_handle(region, size);
    if (!h) {
        snprintf(error, error_size, "cannot map shared object '%s' (%llu bytes): %s", name, (unsigned long long)size,
                 strerror(errno));
        if (region != MAP_FAILED) munmap(region, size);
        close(memfd);
        return NULL;
    }
    region_header *header = h->header;
    header->magic = TH_SHARED_MAGIC;
    header->layout = TH_SHARED_LAYOUT;
    header->kind = spec->kind;
    header->element_type = spec->element_type;
    header->size = size;
    header->body = BODY_OFFSET;
    header->count = spec->count;
    header->item_size = spec->item_size;
    header->initial = spec->initial;
    snprintf(header->name, sizeof header->name, "%s", name);
    h->lock = th__object_lock(h);
    if (init_body(h) != 0) {
        snprintf(error, error_size, "cannot initialise shared object '%s'", name);
        munmap(region, size);
        free(h);
        close(memfd);
        return NULL;
    }
    *fd = memfd;
    return &h->base;
}

th_shared *th__shared_map(int fd, char *error, size_t error_size) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < BODY_OFFSET) {
        snprintf(error, error_size, "not a shared object (%s)", strerror(errno ? errno : EINVAL));
        return NULL;
    }
    uint64_t size = (uint64_t)st.st_size;
    uint8_t *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (region == MAP_FAILED) {
        snprintf(error, error_size, "cannot map a shared object: %s", strerror(errno));
        return NULL;
    }
    region_header *header = (region_header *)region;
    if (header->magic != TH_SHARED_MAGIC || header->layout != TH_SHARED_LAYOUT || header->size != size ||
        header->body != BODY_OFFSET || header->name[TH_SHARED_NAME_MAX] != 0) {
        snprintf(error, error_size, "not a shared object of this TaskHost");
        munmap(region, size);
        return NULL;
    }
    handle *h = new_handle(region, size);
    if (!h) munmap(region, size);
    else h->lock = th__object_lock(h);
    return h ? &h->base : NULL;
}

uint64_t th__shared_region_size(th_shared *object) { return as_handle(object)->size; }

void th__shared_get_spec(th_shared *object, th_shared_spec *spec) {
    region_header *header = as_handle(object)->header;
    spec->kind = (th_shared_kind)header->kind;
    spec->element_type = header->element_type;
    spec->count = header->count;
    spec->item_size = header->item_size;
    spec->initial = header->initial;
}

int th__shared_repair(th_shared *object, int32_t pid) {
    handle *h = as_handle(object);
    switch (h->header->kind) {
    case TH_SHARED_SEMAPHORE: case TH_SHARED_BOUNDED_SEMAPHORE: return th__semaphore_repair(h, pid);
    case TH_SHARED_BARRIER: return th__barrier_repair(h, pid);
    case TH_SHARED_QUEUE: case TH_SHARED_PIPE: return th__queue_repair(h, pid);
    default: return h->lock ? th__owned_repair(h->lock, pid) : 0; /* the next holder is told OWNER_DIED */
    }
}

/* ---- the registry ------------------------------------------------------ */

typedef struct entry {
    uint32_t id;
    th_shared *object;
} entry;

/* The host registers from many threads; the fork server and its workers
 * are single-threaded (so nobody holds this across their fork). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t entry_count, entry_capacity;

int th__shared_register(uint32_t id, th_shared *object) {
    pthread_mutex_lock(&registry_lock);
    if (entry_count == entry_capacity) {
        size_t capacity = entry_capacity ? entry_capacity * 2 : 16;
        entry *grown = realloc(entries, capacity * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&registry_lock);
            return -1;
        }
        entries = grown;
        entry_capacity = capacity;
    }
    entries[entry_count++] = (entry){id, object};
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

int th__shared_adopt(uint32_t id, int fd) {
    char error[256];
    th_shared *object = fd >= 0 ? th__shared_map(fd, error, sizeof error) : NULL;
    if (!object) return -1;
    if (th__shared_register(id, object) != 0) {
        th__shared_close(object);
        return -1;
    }
    return 0;
}

th_shared *th__shared_unregister(uint32_t id) {
    th_shared *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < entry_count; i++) {
        if (entries[i].id == id) {
            found = entries[i].object;
            entries[i] = entries[--entry_count];
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

th_shared *th__shared_find_name(const char *name) {
    th_shared *found = NULL;
    pthread_mutex_lock(&registry_lock);
    /* The newest of a name wins: a name may be reused after its object went. */
    for (size_t i = entry_count; i-- > 0 && name;)
        if (strcmp(name_of(entries[i].object), name) == 0) {
            found = entries[i].object;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    /* Finding a barrier makes this process one of its parties: if it dies
     * before arriving while others wait, the barrier breaks for them. */
    if (found && kind_of(found) == TH_SHARED_BARRIER) th__barrier_join(as_handle(found), th__self_pid());
    return found;
}

int th__shared_repair_all(int32_t pid) {
    int fixed = 0;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < entry_count; i++) fixed += th__shared_repair(entries[i].object, pid);
    pthread_mutex_unlock(&registry_lock);
    return fixed;
}

void th__shared_close(th_shared *object) {
    if (!object) return;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < entry_count; i++)
        if (entries[i].object == object) {
            entries[i] = entries[--entry_count];
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    handle *h = as_handle(object);
    munmap(h->region, h->size);
    free(h);
}
