/* Specs of shared objects: "queue:1024", "value:double:1.5" (th_shared_core.h). */
#include "shared_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS (1u << 24)
#define MAX_PARTIES 4096
#define MAX_BYTES (1ull << 40)

typedef struct kind_name {
    const char *name;
    th_shared_kind kind;
} kind_name;

static const kind_name kinds[] = {
    {"lock", TH_SHARED_LOCK},       {"rlock", TH_SHARED_RLOCK},
    {"semaphore", TH_SHARED_SEMAPHORE}, {"bounded_semaphore", TH_SHARED_BOUNDED_SEMAPHORE},
    {"event", TH_SHARED_EVENT},     {"condition", TH_SHARED_CONDITION},
    {"barrier", TH_SHARED_BARRIER}, {"queue", TH_SHARED_QUEUE},
    {"pipe", TH_SHARED_PIPE},       {"value", TH_SHARED_VALUE},
    {"array", TH_SHARED_ARRAY},     {"buffer", TH_SHARED_BUFFER},
};

static const char *const element_names[] = {NULL, "bool", "int32", "int64", "uint64", "double"};

static const char *kind_text(th_shared_kind kind) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == kind) return kinds[i].name;
    return "?";
}

int th__shared_parse_size(const char *text, uint64_t *out) {
    if (!*text || *text == '-' || *text == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text) return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    if (shift) end++;
    if (*end || v > (MAX_BYTES >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_element(const char *text, uint32_t *type) {
    for (uint32_t t = TH_BOOL; t <= TH_DOUBLE; t++)
        if (strcmp(text, element_names[t]) == 0) {
            *type = t;
            return 0;
        }
    return -1;
}

static int parse_initial(const char *text, uint32_t type, int64_t *bits) {
    char *end;
    errno = 0;
    if (type == TH_DOUBLE) {
        double d = strtod(text, &end);
        memcpy(bits, &d, sizeof d);
    } else if (type == TH_UINT64) {
        if (*text == '-') return -1;
        *bits = (int64_t)strtoull(text, &end, 10);
    } else {
        long long v = strtoll(text, &end, 10);
        if (type == TH_INT32 && (v < INT32_MIN || v > INT32_MAX)) return -1;
        if (type == TH_BOOL && v != 0 && v != 1) return -1;
        *bits = v;
    }
    return errno || end == text || *end ? -1 : 0;
}

int th__shared_parse_spec(const char *text, th_shared_spec *spec, char *error, size_t error_size) {
    char copy[256];
    if (!text || strlen(text) >= sizeof copy) {
        snprintf(error, error_size, "a shared object spec must be 1 to 255 characters");
        return -1;
    }
    strcpy(copy, text);
    char *parts[4] = {NULL, NULL, NULL, NULL};
    int count = 0;
    for (char *p = copy, *colon; p && count < 4; p = colon ? colon + 1 : NULL) {
        colon = strchr(p, ':');
        if (colon) *colon = 0;
        parts[count++] = p;
    }
    memset(spec, 0, sizeof *spec);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(parts[0], kinds[i].name) == 0) spec->kind = kinds[i].kind;
    if (!spec->kind) {
        snprintf(error, error_size, "unknown shared object kind '%s' (lock, rlock, semaphore, bounded_semaphore, "
                 "event, condition, barrier, queue, pipe, value, array, buffer)", parts[0]);
        return -1;
    }
    const char *usage = NULL;
    uint64_t n = 0;
    switch (spec->kind) {
    case TH_SHARED_LOCK: case TH_SHARED_RLOCK: case TH_SHARED_EVENT: case TH_SHARED_CONDITION:
        if (count > 1) usage = "takes no parameters";
        break;
    case TH_SHARED_SEMAPHORE: case TH_SHARED_BOUNDED_SEMAPHORE:
        spec->initial = 1;
        if (count > 2 || (count == 2 && (th__shared_parse_size(parts[1], &n) || n > INT32_MAX))) usage = "[:UNITS] (0 or more, default 1)";
        else if (count == 2) spec->initial = (int64_t)n;
        break;
    case TH_SHARED_BARRIER:
        if (count != 2 || th__shared_parse_size(parts[1], &spec->count) || spec->count < 1 || spec->count > MAX_PARTIES)
            usage = ":PARTIES (1 to 4096)";
        break;
    case TH_SHARED_QUEUE: case TH_SHARED_PIPE:
        spec->count = spec->kind == TH_SHARED_QUEUE ? 1024 : 64;
        spec->item_size = 256;
        if (count > 3 || (count >= 2 && (th__shared_parse_size(parts[1], &spec->count) || spec->count < 2 || spec->count > MAX_ITEMS)) ||
            (count == 3 && (th__shared_parse_size(parts[2], &spec->item_size) || spec->item_size < 8 || spec->item_size > (64u << 20))))
            usage = "[:CAPACITY[:ITEM_SIZE]] (2 to 16777216 items, default 1024 for a queue and 64 for a pipe; "
                    "8 bytes to 64M each, default 256)";
        break;
    case TH_SHARED_VALUE:
        spec->element_type = TH_INT64;
        if (count > 3 || (count >= 2 && (parse_element(parts[1], &spec->element_type) || spec->element_type == TH_BOOL ||
                                         spec->element_type == TH_INT32)) ||
            (count == 3 && parse_initial(parts[2], spec->element_type, &spec->initial)))
            usage = "[:int64|uint64|double[:INITIAL]] (default int64, 0)";
        break;
    case TH_SHARED_ARRAY:
        if (count != 3 || parse_element(parts[1], &spec->element_type) || th__shared_parse_size(parts[2], &spec->count) ||
            spec->count < 1)
            usage = ":bool|int32|int64|uint64|double:COUNT (at least 1)";
        break;
    case TH_SHARED_BUFFER:
        if (count != 2 || th__shared_parse_size(parts[1], &spec->count) || spec->count < 1) usage = ":SIZE (bytes, with K, M or G)";
        break;
    }
    if (usage) {
        snprintf(error, error_size, "bad shared object spec '%s': %s %s", text, kind_text(spec->kind), usage);
        return -1;
    }
    return 0;
}

void th__shared_format_spec(const th_shared_spec *spec, char *out, size_t out_size) {
    const char *kind = kind_text(spec->kind);
    switch (spec->kind) {
    case TH_SHARED_SEMAPHORE: case TH_SHARED_BOUNDED_SEMAPHORE:
        snprintf(out, out_size, "%s:%lld", kind, (long long)spec->initial);
        break;
    case TH_SHARED_BARRIER: case TH_SHARED_BUFFER:
        snprintf(out, out_size, "%s:%llu", kind, (unsigned long long)spec->count);
        break;
    case TH_SHARED_QUEUE: case TH_SHARED_PIPE:
        snprintf(out, out_size, "%s:%llu:%llu", kind, (unsigned long long)spec->count, (unsigned long long)spec->item_size);
        break;
    case TH_SHARED_VALUE: {
        char initial[64];
        if (spec->element_type == TH_DOUBLE) {
            double d;
            memcpy(&d, &spec->initial, sizeof d);
            snprintf(initial, sizeof initial, "%.17g", d);
        } else if (spec->element_type == TH_UINT64) {
            snprintf(initial, sizeof initial, "%llu", (unsigned long long)spec->initial);
        } else {
            snprintf(initial, sizeof initial, "%lld", (long long)spec->initial);
        }
        snprintf(out, out_size, "%s:%s:%s", kind, element_names[spec->element_type], initial);
        break;
    }
    case TH_SHARED_ARRAY:
        snprintf(out, out_size, "%s:%s:%llu", kind, element_names[spec->element_type], (unsigned long long)spec->count);
        break;
    default: snprintf(out, out_size, "%s", kind);
    }
}

int th__shared_valid_name(const char *name) {
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > TH_SHARED_NAME_MAX) return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-' || *p == '.'))
            return 0;
    return 1;
}
