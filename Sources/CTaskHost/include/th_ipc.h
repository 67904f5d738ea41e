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

TH__INTERNAL_BEGIN

/** Writes all of `data` to a blocking descriptor, retrying after signals. 0, or -1 (errno). */
int th__write_all(int fd, const void *data, size_t length);

/** Sends one message with up to 4 descriptors (SCM_RIGHTS). 0 or -1 (errno). */
int th__send_message(int socket_fd, const void *data, size_t length, const int *fds, int fd_count);

/**
 * Receives one message and up to `max_fds` descriptors (close-on-exec).
 * Returns its length, 0 on end of stream, -1 on error (errno; EAGAIN when
 * non-blocking and nothing is there). Extra descriptors are closed.
 */
ssize_t th__receive_message(int socket_fd, void *buffer, size_t capacity, int *fds, int *fd_count, int max_fds);

/** A non-blocking, close-on-exec eventfd, or -1. */
int th__eventfd(void);

TH__INTERNAL_END

#endif /* TH_IPC_H */
