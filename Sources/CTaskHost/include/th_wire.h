/*
 * th_wire.h — the one binary codec of TaskHost: growable buffers, bounded
 * readers, typed values and frames. Host (Swift) and workers (C) both use it.
 *
 * Integers are little-endian. A value is a type tag (th_type) followed by its
 * payload: bool 1 byte, int32 4, int64/uint64/double 8, string and bytes a
 * u32 length, the bytes, and for strings one trailing NUL (so a worker can
 * hand the plugin a pointer into the frame without copying).
 *
 * A frame is an 8-byte header — u32 body length, u8 message type, u8
 * protocol version, u16 zero — followed by the body.
 */
#ifndef TH_WIRE_H
#define TH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../../include/taskhost/plugin.h" /* include/taskhost/plugin.h */
#include "th_visibility.h"

TH__INTERNAL_BEGIN

/** Version of the frame protocol between host, fork server and workers. */
#define TH_PROTOCOL_VERSION 1
/** Size of a frame header. */
#define TH_FRAME_HEADER_SIZE 8
/** The largest frame body anyone accepts; a bigger length prefix is malformed. */
#define TH_FRAME_MAX_BODY (512u * 1024u * 1024u)
/** TH_FRAME_MAX_BODY for Swift, where the macro does not cross. */
static inline uint32_t th__frame_max_body(void) { return TH_FRAME_MAX_BODY; }

/** A growable byte buffer. `failed` is set (and sticks) when memory runs out. */
typedef struct th__buf {
    uint8_t *data;
    size_t length;
    size_t capacity;
    int failed;
} th__buf;

void th__buf_init(th__buf *buf);
void th__buf_free(th__buf *buf);
void th__buf_clear(th__buf *buf);
/** Makes room for `extra` more bytes; returns 0 or -1. */
int th__buf_reserve(th__buf *buf, size_t extra);
void th__buf_put(th__buf *buf, const void *bytes, size_t length);
void th__buf_put_u8(th__buf *buf, uint8_t v);
void th__buf_put_u32(th__buf *buf, uint32_t v);
void th__buf_put_u64(th__buf *buf, uint64_t v);
/** Overwrites the u32 at `offset` (a count written before it was known). */
void th__buf_set_u32(th__buf *buf, size_t offset, uint32_t v);
/** A u32 length and the bytes of a NUL-terminated string (NULL is ""). */
void th__buf_put_str(th__buf *buf, const char *s);

/** Starts a frame of `type`; returns the offset to pass to th__frame_end. */
size_t th__frame_begin(th__buf *buf, uint8_t type);
/** Writes the body length of the frame begun at `start`. */
void th__frame_end(th__buf *buf, size_t start);

/** A bounded reader over bytes it does not own. `failed` sticks on overrun. */
typedef struct th__reader {
    const uint8_t *data;
    size_t length;
    size_t position;
    int failed;
} th__reader;

void th__reader_init(th__reader *r, const void *data, size_t length);
uint8_t th__get_u8(th__reader *r);
uint32_t th__get_u32(th__reader *r);
uint64_t th__get_u64(th__reader *r);
/** Reads a length-prefixed string; returns a pointer into the data (not
 *  NUL-terminated unless written by th__put_value) and its length. */
const char *th__get_str(th__reader *r, uint32_t *length);
/** Copies a length-prefixed string into a new malloc'd NUL-terminated string. */
char *th__get_str_dup(th__reader *r);

/** A typed value. Strings and bytes point into memory owned elsewhere. */
typedef struct th__wire_value {
    uint8_t type; /* th_type */
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        uint64_t u64;
        double f64;
        struct {
            const uint8_t *data;
            uint32_t length;
        } bytes; /* TH_STRING (NUL follows data on the wire) and TH_BYTES */
    } u;
} th__wire_value;

void th__put_value(th__buf *buf, const th__wire_value *v);
/** Reads a value; returns 0, or -1 on a malformed value (unknown tag, overrun,
 *  string without its NUL). */
int th__get_value(th__reader *r, th__wire_value *v);

/** The bytes of a type's raw payload in packed frames: 1 for bool, 4 for
 *  int32, 8 for int64, uint64 and double, 0 for void; -1 for the types of
 *  varying size (string, bytes) and unknown tags. */
int th__packed_width(uint8_t type);

/** Whether a task's items can travel packed: every parameter and the result
 *  of fixed size (th__packed_width >= 0). */
int th__task_packable(const th_task *task);

/** Parses a frame header. Returns 1 with the fields set, 0 if fewer than 8
 *  bytes are given, or -1 if the header is malformed (wrong version, body
 *  over TH_FRAME_MAX_BODY, nonzero reserved bits). */
int th__frame_header(const uint8_t *bytes, size_t available, uint32_t *body_length, uint8_t *type);

TH__INTERNAL_END

#endif /* TH_WIRE_H */
