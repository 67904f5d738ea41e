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

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the frame protocol between host, fork server and workers. */
#define TH_PROTOCOL_VERSION 1
/** Size of a frame header. */
#define TH_FRAME_HEADER_SIZE 8
/** The largest frame body anyone accepts; a bigger length prefix is malformed. */
#define TH_FRAME_MAX_BODY (512u * 1024u * 1024u)

/** A growable byte buffer. `failed` is set (and sticks) when memory runs out. */
typedef struct th_buf {
    uint8_t *data;
    size_t length;
    size_t capacity;
    int failed;
} th_buf;

void th_buf_init(th_buf *buf);
void th_buf_free(th_buf *buf);
void th_buf_clear(th_buf *buf);
/** Makes room for `extra` more bytes; returns 0 or -1. */
int th_buf_reserve(th_buf *buf, size_t extra);
void th_buf_put(th_buf *buf, const void *bytes, size_t length);
void th_buf_put_u8(th_buf *buf, uint8_t v);
void th_buf_put_u32(th_buf *buf, uint32_t v);
void th_buf_put_u64(th_buf *buf, uint64_t v);
/** Overwrites the u32 at `offset` (a count written before it was known). */
void th_buf_set_u32(th_buf *buf, size_t offset, uint32_t v);
/** A u32 length and the bytes of a NUL-terminated string (NULL is ""). */
void th_buf_put_str(th_buf *buf, const char *s);

/** Starts a frame of `type`; returns the offset to pass to th_frame_end. */
size_t th_frame_begin(th_buf *buf, uint8_t type);
/** Writes the body length of the frame begun at `start`. */
void th_frame_end(th_buf *buf, size_t start);

/** A bounded reader over bytes it does not own. `failed` sticks on overrun. */
typedef struct th_reader {
    const uint8_t *data;
    size_t length;
    size_t position;
    int failed;
} th_reader;

void th_reader_init(th_reader *r, const void *data, size_t length);
uint8_t th_get_u8(th_reader *r);
uint32_t th_get_u32(th_reader *r);
uint64_t th_get_u64(th_reader *r);
/** Reads a length-prefixed string; returns a pointer into the data (not
 *  NUL-terminated unless written by th_put_value) and its length. */
const char *th_get_str(th_reader *r, uint32_t *length);
/** Copies a length-prefixed string into a new malloc'd NUL-terminated string. */
char *th_get_str_dup(th_reader *r);

/** A typed value. Strings and bytes point into memory owned elsewhere. */
typedef struct th_wire_value {
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
} th_wire_value;

void th_put_value(th_buf *buf, const th_wire_value *v);
/** Reads a value; returns 0, or -1 on a malformed value (unknown tag, overrun,
 *  string without its NUL). */
int th_get_value(th_reader *r, th_wire_value *v);

/** The bytes of a type's raw payload in packed frames: 1 for bool, 4 for
 *  int32, 8 for int64, uint64 and double, 0 for void; -1 for the types of
 *  varying size (string, bytes) and unknown tags. */
int th_packed_width(uint8_t type);

/** Whether a task's items can travel packed: every parameter and the result
 *  of fixed size (th_packed_width >= 0). */
int th_task_packable(const th_task *task);

/** The name of a type as users see it: "int64", "string", ... */
const char *th_type_name(uint8_t type);

/** Parses a frame header. Returns 1 with the fields set, 0 if fewer than 8
 *  bytes are given, or -1 if the header is malformed (wrong version, body
 *  over TH_FRAME_MAX_BODY, nonzero reserved bits). */
int th_frame_header(const uint8_t *bytes, size_t available, uint32_t *body_length, uint8_t *type);

#ifdef __cplusplus
}
#endif

#endif /* TH_WIRE_H */
