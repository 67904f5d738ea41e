/* Growable byte buffers for encoders. */
#include "if_codec_internal.h"

#include <stdlib.h>
#include <string.h>

void if_bytes_free(if_bytes *bytes) {
    free(bytes->data);
    memset(bytes, 0, sizeof *bytes);
}

int if_bytes_append(if_bytes *bytes, const void *data, size_t length) {
    if (bytes->capacity - bytes->length < length) {
        size_t capacity = bytes->capacity ? bytes->capacity : 4096;
        while (capacity - bytes->length < length) capacity *= 2;
        uint8_t *grown = realloc(bytes->data, capacity);
        if (!grown) return -1;
        bytes->data = grown;
        bytes->capacity = capacity;
    }
    memcpy(bytes->data + bytes->length, data, length);
    bytes->length += length;
    return 0;
}
