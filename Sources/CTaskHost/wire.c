/* The binary codec shared by host, fork server and workers (see th_wire.h). */
#include "th_wire.h"

#include <stdlib.h>
#include <string.h>

void th__buf_init(th__buf *buf) { memset(buf, 0, sizeof *buf); }

void th__buf_free(th__buf *buf) {
    free(buf->data);
    memset(buf, 0, sizeof *buf);
}

void th__buf_clear(th__buf *buf) {
    buf->length = 0;
    buf->failed = 0;
}

int th__buf_reserve(th__buf *buf, size_t extra) {
    if (buf->failed) return -1;
    if (buf->capacity - buf->length >= extra) return 0;
    size_t wanted = buf->length + extra;
    size_t capacity = buf->capacity ? buf->capacity : 256;
    while (capacity < wanted) capacity *= 2;
    uint8_t *grown = realloc(buf->data, capacity);
    if (!grown) {
        buf->failed = 1;
        return -1;
    }
    buf->data = grown;
    buf->capacity = capacity;
    return 0;
}

void th__buf_put(th__buf *buf, const void *bytes, size_t length) {
    if (length == 0 || th__buf_reserve(buf, length) != 0) return;
    memcpy(buf->data + buf->length, bytes, length);
    buf->length += length;
}

void th__buf_put_u8(th__buf *buf, uint8_t v) {
    if (th__buf_reserve(buf, 1) != 0) return;
    buf->data[buf->length++] = v;
}

static void store_le(uint8_t *p, uint64_t v, int size) {
    for (int i = 0; i < size; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_le(const uint8_t *p, int size) {
    uint64_t v = 0;
    for (int i = 0; i < size; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void th__buf_put_u32(th__buf *buf, uint32_t v) {
    if (th__buf_reserve(buf, 4) != 0) return;
    store_le(buf->data + buf->length, v, 4);
    buf->length += 4;
}

void th__buf_set_u32(th__buf *buf, size_t offset, uint32_t v) {
    if (buf->failed || offset + 4 > buf->length) return;
    store_le(buf->data + offset, v, 4);
}

void th__buf_put_u64(th__buf *buf, uint64_t v) {
    if (th__buf_reserve(buf, 8) != 0) return;
    store_le(buf->data + buf->length, v, 8);
    buf->length += 8;
}

void th__buf_put_str(th__buf *buf, const char *s) {
    size_t length = s ? strlen(s) : 0;
    th__buf_put_u32(buf, (uint32_t)length);
    th__buf_put(buf, s, length);
}

size_t th__frame_begin(th__buf *buf, uint8_t type) {
    size_t start = buf->length;
    uint8_t header[TH_FRAME_HEADER_SIZE] = {0, 0, 0, 0, type, TH_PROTOCOL_VERSION, 0, 0};
    th__buf_put(buf, header, sizeof header);
    return start;
}

void th__frame_end(th__buf *buf, size_t start) {
    if (buf->failed) return;
    store_le(buf->data + start, buf->length - start - TH_FRAME_HEADER_SIZE, 4);
}

int th__frame_header(const uint8_t *bytes, size_t available, uint32_t *body_length, uint8_t *type) {
    if (available < TH_FRAME_HEADER_SIZE) return 0;
    uint32_t length = (uint32_t)load_le(bytes, 4);
    if (bytes[5] != TH_PROTOCOL_VERSION || bytes[6] != 0 || bytes[7] != 0) return -1;
    if (length > TH_FRAME_MAX_BODY) return -1;
    *body_length = length;
    *type = bytes[4];
    return 1;
}

void th__reader_init(th__reader *r, const void *data, size_t length) {
    r->data = data;
    r->length = length;
    r->position = 0;
    r->failed = 0;
}

static const uint8_t *take(th__reader *r, size_t size) {
    if (r->failed || r->length - r->position < size) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *p = r->data + r->position;
    r->position += size;
    return p;
}

uint8_t th__get_u8(th__reader *r) {
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

uint32_t th__get_u32(th__reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)load_le(p, 4) : 0;
}

uint64_t th__get_u64(th__reader *r) {
    const uint8_t *p = take(r, 8);
    return p ? load_le(p, 8) : 0;
}

const char *th__get_str(th__reader *r, uint32_t *length) {
    uint32_t n = th__get_u32(r);
    const uint8_t *p = take(r, n);
    *length = p ? n : 0;
    return p ? (const char *)p : "";
}

char *th__get_str_dup(th__reader *r) {
    uint32_t n;
    const char *p = th__get_str(r, &n);
    char *copy = malloc((size_t)n + 1);
    if (!copy) return NULL;
    memcpy(copy, p, n);
    copy[n] = 0;
    return copy;
}

void th__put_value(th__buf *buf, const th__wire_value *v) {
    th__buf_put_u8(buf, v->type);
    switch (v->type) {
    case TH_VOID: break;
    case TH_BOOL: th__buf_put_u8(buf, v->u.b ? 1 : 0); break;
    case TH_INT32: th__buf_put_u32(buf, (uint32_t)v->u.i32); break;
    case TH_INT64: th__buf_put_u64(buf, (uint64_t)v->u.i64); break;
    case TH_UINT64: th__buf_put_u64(buf, v->u.u64); break;
    case TH_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->u.f64, 8);
        th__buf_put_u64(buf, bits);
        break;
    }
    case TH_STRING:
        th__buf_put_u32(buf, v->u.bytes.length);
        th__buf_put(buf, v->u.bytes.data, v->u.bytes.length);
        th__buf_put_u8(buf, 0);
        break;
    case TH_BYTES:
        th__buf_put_u32(buf, v->u.bytes.length);
        th__buf_put(buf, v->u.bytes.data, v->u.bytes.length);
        break;
    default: buf->failed = 1; break;
    }
}

int th__get_value(th__reader *r, th__wire_value *v) {
    v->type = th__get_u8(r);
    switch (v->type) {
    case TH_VOID: break;
    case TH_BOOL: {
        uint8_t b = th__get_u8(r);
        if (b > 1) return -1;
        v->u.b = b != 0;
        break;
    }
    case TH_INT32: v->u.i32 = (int32_t)th__get_u32(r); break;
    case TH_INT64: v->u.i64 = (int64_t)th__get_u64(r); break;
    case TH_UINT64: v->u.u64 = th__get_u64(r); break;
    case TH_DOUBLE: {
        uint64_t bits = th__get_u64(r);
        memcpy(&v->u.f64, &bits, 8);
        break;
    }
    case TH_STRING:
    case TH_BYTES: {
        uint32_t n = th__get_u32(r);
        const uint8_t *p = take(r, n);
        v->u.bytes.data = p;
        v->u.bytes.length = n;
        if (v->type == TH_STRING) {
            const uint8_t *nul = take(r, 1);
            if (!nul || *nul != 0) return -1;
        }
        break;
    }
    default: return -1;
    }
    return r->failed ? -1 : 0;
}

int th__packed_width(uint8_t type) {
    switch (type) {
    case TH_VOID: return 0;
    case TH_BOOL: return 1;
    case TH_INT32: return 4;
    case TH_INT64:
    case TH_UINT64:
    case TH_DOUBLE: return 8;
    default: return -1;
    }
}

int th__task_packable(const th_task *task) {
    if (th__packed_width((uint8_t)task->result) < 0) return 0;
    for (uint32_t i = 0; i < task->param_count; i++)
        if (th__packed_width((uint8_t)task->params[i].type) <= 0) return 0;
    return 1;
}
