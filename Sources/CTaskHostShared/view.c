/* Views of shared buffers: the argument of a TH_SHARED_BYTES parameter
 * ("big", "big:64M", "big:64M:64M") and the bytes it names in this process
 * (th_shared_core.h). */
#include "shared_internal.h"

#include <stdio.h>
#include <string.h>

#define VIEW_USAGE "NAME, NAME:OFFSET or NAME:OFFSET:LENGTH, sizes in bytes with K, M or G"

int th__shared_parse_view(const char *text, th_shared_view *view, char *error, size_t error_size) {
    memset(view, 0, sizeof *view);
    char copy[TH_SHARED_NAME_MAX + 64];
    if (!text || strlen(text) >= sizeof copy) {
        snprintf(error, error_size, "a view of a shared buffer is %s, not %zu characters", VIEW_USAGE,
                 text ? strlen(text) : 0);
        return -1;
    }
    strcpy(copy, text);
    char *offset = strchr(copy, ':');
    char *length = offset ? strchr(offset + 1, ':') : NULL;
    if (offset) *offset++ = 0;
    if (length) *length++ = 0;
    view->whole = length == NULL;
    if (!th__shared_valid_name(copy) || (offset && th__shared_parse_size(offset, &view->offset) != 0) ||
        (length && th__shared_parse_size(length, &view->length) != 0)) {
        snprintf(error, error_size, "'%s' is not a view of a shared buffer (%s)", text, VIEW_USAGE);
        return -1;
    }
    memcpy(view->name, copy, strlen(copy) + 1);
    return 0;
}

int th__shared_resolve_view(const char *text, void **data, size_t *length, char *error, size_t error_size) {
    th_shared_view view;
    if (th__shared_parse_view(text, &view, error, error_size) != 0) return -1;
    th_shared *object = th__shared_find_name(view.name);
    if (!object) {
        snprintf(error, error_size, "no shared buffer named '%s'", view.name);
        return -1;
    }
    if (th_shared_kind_of(object) != TH_SHARED_BUFFER) {
        snprintf(error, error_size, "shared object '%s' is not a buffer", view.name);
        return -1;
    }
    size_t size;
    uint8_t *bytes = th_shared_data(object, &size);
    /* NAME:OFFSET runs to the end; both numbers are at most 1 TiB, so the sum cannot wrap. */
    uint64_t wanted = view.whole ? (view.offset <= size ? size - view.offset : 0) : view.length;
    if (view.offset > size || wanted > size - view.offset) {
        snprintf(error, error_size, "view '%s' is outside shared buffer '%s' of %zu bytes", text, view.name, size);
        return -1;
    }
    *data = bytes + view.offset;
    *length = (size_t)wanted;
    return 0;
}
