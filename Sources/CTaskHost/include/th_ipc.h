/*
 * th_ipc.h — bytes and descriptors between processes: write-all, messages
 * with passed descriptors (SCM_RIGHTS) and the host's wake-up eventfd.
 * Used by the host and the fork server alike.
 */
#ifndef TH_IPC_H
#define TH_IPC_H

#include <stddef.h>
#include <sys/types.h>

#include "th_visibility.h"
#include "th_wire.h"

TH__INTERNAL_BEGIN

/** Writes all of `data` to a blocking descriptor, retrying after signals. 0, or -1 (errno). */
int th__write_all(int fd, const void *data, size_t length);

/**
 * Receives one message and up to `max_fds` descriptors (close-on-exec).
 * Returns its length, 0 on end of stream, -1 on error (errno; EAGAIN when
 * non-blocking and nothing is there). Extra descriptors are closed.
 */
ssize_t th__receive_message(int socket_fd, void *buffer, size_t capacity, int *fds, int *fd_count, int max_fds);

/**
 * Sends a whole frame on the fork server's socket: as one message when it
 * fits in TH_PIECE_MAX bytes, else as TH_MSG_PIECE messages (th_protocol.h),
 * with `fds` (at most 4) on the last. Waits when a non-blocking socket is
 * full. 0, or -1 (errno).
 */
int th__send_frame(int socket_fd, const void *frame, size_t length, const int *fds, int fd_count);

/**
 * Sends a frame of at most TH_PIECE_MAX bytes as one message without ever
 * waiting: -1 with errno EAGAIN when the socket is full (the supervisor then
 * keeps it for later; waiting could deadlock against a server that is itself
 * waiting to send), EMSGSIZE when it is too big for one message. 0, or -1.
 */
int th__try_send_frame(int socket_fd, const void *frame, size_t length);

/** Reassembles frames from the fork server's socket, pieces included. */
typedef struct th__frame_receiver {
    uint8_t *message;     /**< room for one message (TH_PIECE_MAX bytes) */
    th__buf pending;      /**< a frame arriving in pieces */
    const uint8_t *frame; /**< the last whole frame, header included */
    size_t frame_length;
    int fds[4];           /**< its descriptors, now the caller's */
    int fd_count;
} th__frame_receiver;

/** 0, or -1 when out of memory. */
int th__frame_receiver_init(th__frame_receiver *r);
void th__frame_receiver_free(th__frame_receiver *r);

/**
 * Reads one message. Returns 1 with a whole frame in r->frame (valid until
 * the next call) and its descriptors in r->fds (the caller's to close); 0
 * when it was a piece and more must come; -2 at the end of the stream; -1
 * with errno: EAGAIN when non-blocking and nothing is there, EBADMSG for a
 * malformed frame or piece.
 */
int th__frame_receive(th__frame_receiver *r, int socket_fd);

/** A close-on-exec pipe (pipe2 is out of Swift's reach). 0, or -1 (errno). */
int th__pipe(int fds[2]);

/** A non-blocking, close-on-exec eventfd, or -1. */
int th__eventfd(void);

TH__INTERNAL_END

#endif /* TH_IPC_H */
