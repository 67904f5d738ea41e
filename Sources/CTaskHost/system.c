/* System helpers shared by the host and the fork server (see th_system.h). */
#include "th_system.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int th_write_all(int fd, const void *data, size_t length) {
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

extern char **environ;

int th_send_message(int socket_fd, const void *data, size_t length, const int *fds, int fd_count) {
    struct iovec iov = {.iov_base = (void *)data, .iov_len = length};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
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
        ssize_t n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
        if (n >= 0) return 0;
        if (errno != EINTR) return -1;
    }
}

ssize_t th_receive_message(int socket_fd, void *buffer, size_t capacity, int *fds, int *fd_count, int max_fds) {
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

pid_t th_spawn_server(const char *path, int socket_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, socket_fd, 3);
    /* Nothing else of the host's: a pipe the host's other code opened (without
     * O_CLOEXEC) must not stay open for the fork server's whole life. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {(char *)path, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

/* Looks `symbol` up in the dynamic symbol table of a mapped 64-bit ELF. */
static int exports_in_image(const unsigned char *image, size_t size, const char *symbol) {
    if (size < sizeof(Elf64_Ehdr) || memcmp(image, ELFMAG, SELFMAG) != 0) return 0;
    if (image[EI_CLASS] != ELFCLASS64) return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr)) return 0;
    if (eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) return 0;
    const Elf64_Shdr *sections = (const Elf64_Shdr *)(image + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *s = &sections[i];
        if (s->sh_type != SHT_DYNSYM || s->sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *strings = &sections[s->sh_link];
        if (s->sh_offset > size || s->sh_size > size - s->sh_offset) return 0;
        if (strings->sh_offset > size || strings->sh_size > size - strings->sh_offset) return 0;
        const Elf64_Sym *symbols = (const Elf64_Sym *)(image + s->sh_offset);
        size_t count = s->sh_size / sizeof(Elf64_Sym);
        const char *names = (const char *)image + strings->sh_offset;
        size_t wanted = strlen(symbol);
        for (size_t k = 0; k < count; k++) {
            const Elf64_Sym *sym = &symbols[k];
            if (sym->st_shndx == SHN_UNDEF || sym->st_name >= strings->sh_size) continue;
            if (strings->sh_size - sym->st_name <= wanted) continue;
            if (memcmp(names + sym->st_name, symbol, wanted + 1) == 0) return 1;
        }
    }
    return 0;
}

int th_elf_exports(const char *path, const char *symbol) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return 0;
    }
    void *image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (image == MAP_FAILED) return -1;
    int found = exports_in_image(image, (size_t)st.st_size, symbol);
    munmap(image, (size_t)st.st_size);
    return found;
}

int th_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

const char *th_library_path(void) {
    Dl_info info;
    if (dladdr((void *)th_library_path, &info) == 0) return NULL;
    return info.dli_fname;
}

int th_try_reap(pid_t pid, int *status) {
    pid_t r;
    do {
        r = waitpid(pid, status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    return r == pid ? 1 : 0;
}

int th_status_exited(int status) { return WIFEXITED(status); }
int th_status_exit_code(int status) { return WEXITSTATUS(status); }
int th_status_signaled(int status) { return WIFSIGNALED(status); }
int th_status_signal(int status) { return WTERMSIG(status); }
