/* Bytes and descriptors between processes (see th_ipc.h). */
#include "th_ipc.h"
#include "th_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

int th__write_all(int fd, const void *data, size_t length) {
    const unsigned char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

ssize_t th__receive_message(int socket_fd, void *buffer, size_t capacity, int *fds, int *fd_count, int max_fds) {
    struct iovec iov = {.iov_base = buffer, .iov_len = capacity};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do {
        n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    *fd_count = 0;
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int received[8];
        if (count > 8) count = 8;
        memcpy(received, CMSG_DATA(c), sizeof(int) * (size_t)count);
        for (int i = 0; i < count; i++) {
            if (*fd_count < max_fds) fds[(*fd_count)++] = received[i];
            else close(received[i]);
        }
    }
    if (msg.msg_flags & MSG_TRUNC) {
        for (int i = 0; i < *fd_count; i++) close(fds[i]);
        *fd_count = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return n;
}

/* One message, its descriptors, waiting while a non-blocking socket is full. */
static int send_parts(int socket_fd, struct iovec *parts, int part_count, const int *fds, int fd_count) {
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = parts;
    msg.msg_iovlen = (size_t)part_count;
    union {
        char buf[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } control;
    if (fd_count > 0) {
        if (fd_count > 4) {
            errno = EINVAL;
            return -1;
        }
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)fd_count);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)fd_count);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)fd_count);
    }
    for (;;) {
        if (sendmsg(socket_fd, &msg, MSG_NOSIGNAL) >= 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return -1;
        struct pollfd writable = {socket_fd, POLLOUT, 0};
        if (poll(&writable, 1, -1) < 0 && errno != EINTR) return -1;
    }
}

int th__try_send_frame(int socket_fd, const void *frame, size_t length) {
    if (length > TH_PIECE_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    for (;;) {
        if (send(socket_fd, frame, length, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) return 0;
        if (errno != EINTR) return -1;
    }
}

int th__send_frame(int socket_fd, const void *frame, size_t length, const int *fds, int fd_count) {
    if (length <= TH_PIECE_MAX) {
        struct iovec whole = {(void *)frame, length};
        return send_parts(socket_fd, &whole, 1, fds, fd_count);
    }
    const size_t room = TH_PIECE_MAX - TH_FRAME_HEADER_SIZE;
    const uint8_t *p = frame;
    for (size_t sent = 0; sent < length; sent += room) {
        size_t n = length - sent < room ? length - sent : room;
        int last = sent + n == length;
        th__buf header;
        th__buf_init(&header);
        size_t start = th__frame_begin(&header, TH_MSG_PIECE);
        th__frame_end(&header, start);
        /* The piece's header claims the bytes that follow it in the same message. */
        th__buf_set_u32(&header, start, (uint32_t)n);
        if (header.failed) {
            th__buf_free(&header);
            errno = ENOMEM;
            return -1;
        }
        struct iovec parts[2] = {{header.data, header.length}, {(void *)(p + sent), n}};
        int rc = send_parts(socket_fd, parts, 2, last ? fds : NULL, last ? fd_count : 0);
        th__buf_free(&header);
        if (rc != 0) return -1;
    }
    return 0;
}

int th__frame_receiver_init(th__frame_receiver *r) {
    memset(r, 0, sizeof *r);
    th__buf_init(&r->pending);
    r->message = malloc(TH_PIECE_MAX);
    return r->message ? 0 : -1;
}

void th__frame_receiver_free(th__frame_receiver *r) {
    free(r->message);
    th__buf_free(&r->pending);
    memset(r, 0, sizeof *r);
}

static int malformed(th__frame_receiver *r) {
    for (int i = 0; i < r->fd_count; i++) close(r->fds[i]);
    r->fd_count = 0;
    th__buf_clear(&r->pending);
    errno = EBADMSG;
    return -1;
}

int th__frame_receive(th__frame_receiver *r, int socket_fd) {
    r->frame = NULL;
    r->frame_length = 0;
    ssize_t n = th__receive_message(socket_fd, r->message, TH_PIECE_MAX, r->fds, &r->fd_count, 4);
    if (n < 0) return -1;
    if (n == 0) return -2;
    uint32_t body;
    uint8_t type;
    if (th__frame_header(r->message, (size_t)n, &body, &type) != 1 || body != (size_t)n - TH_FRAME_HEADER_SIZE)
        return malformed(r);
    if (type != TH_MSG_PIECE) {
        if (r->pending.length) return malformed(r); /* a frame cut short */
        r->frame = r->message;
        r->frame_length = (size_t)n;
        return 1;
    }
    th__buf_put(&r->pending, r->message + TH_FRAME_HEADER_SIZE, body);
    if (r->pending.failed) return malformed(r);
    uint32_t whole_body;
    uint8_t whole_type;
    int header = th__frame_header(r->pending.data, r->pending.length, &whole_body, &whole_type);
    if (header < 0 || whole_type == TH_MSG_PIECE) return malformed(r);
    size_t total = header == 1 ? TH_FRAME_HEADER_SIZE + (size_t)whole_body : 0;
    if (header == 0 || r->pending.length < total) {
        if (r->fd_count) return malformed(r); /* descriptors come with the last piece only */
        return 0;
    }
    if (r->pending.length > total) return malformed(r);
    r->frame = r->pending.data;
    r->frame_length = total;
    th__buf_clear(&r->pending); /* the bytes stay in place until the next call */
    return 1;
}

int th__pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int th__eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
