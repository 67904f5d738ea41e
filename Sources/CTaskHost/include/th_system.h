/*
 * th_system.h — small system helpers the Swift host and the fork server
 * share: descriptor passing, process spawning, ELF symbol checks.
 */
#ifndef TH_SYSTEM_H
#define TH_SYSTEM_H

#include <stddef.h>
#include <sys/types.h>

/** Writes all of `data` to a blocking descriptor, retrying after signals. 0, or -1 (errno). */
int th_write_all(int fd, const void *data, size_t length);

/** Sends one message with up to 4 descriptors (SCM_RIGHTS). 0 or -1 (errno). */
int th_send_message(int socket_fd, const void *data, size_t length, const int *fds, int fd_count);

/**
 * Receives one message and up to `max_fds` descriptors (close-on-exec).
 * Returns its length, 0 on end of stream, -1 on error (errno; EAGAIN when
 * non-blocking and nothing is there). Extra descriptors are closed.
 */
ssize_t th_receive_message(int socket_fd, void *buffer, size_t capacity, int *fds, int *fd_count, int max_fds);

/**
 * Starts the fork server executable at `path` with `socket_fd` as its
 * descriptor 3, stdin from /dev/null, stdout and stderr inherited. Returns
 * its pid, or -1 with errno.
 */
pid_t th_spawn_server(const char *path, int socket_fd);

/**
 * Tells whether the ELF shared object at `path` exports `symbol`, without
 * loading it (so no constructor runs). 1 yes, 0 no (or not ELF), -1 when the
 * file can't be read (errno).
 */
int th_elf_exports(const char *path, const char *symbol);

/** A non-blocking, close-on-exec eventfd, or -1. */
int th_eventfd(void);

/** The path of the binary (executable or shared library) holding this code, or NULL. */
const char *th_library_path(void);

/** Reaps `pid` if it has exited; returns 1 with its status, 0 if running. */
int th_try_reap(pid_t pid, int *status);

/** The wait-status helpers as functions (macros don't cross into Swift). */
int th_status_exited(int status);
int th_status_exit_code(int status);
int th_status_signaled(int status);
int th_status_signal(int status);

#endif /* TH_SYSTEM_H */
