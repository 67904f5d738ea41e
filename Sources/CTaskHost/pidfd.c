/* A process's exit through its pidfd (see th_pidfd.h). */
#include "th_pidfd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* The first version of the kernel's struct pidfd_info (linux/pidfd.h,
 * PIDFD_INFO_SIZE_VER0: 64 bytes); later kernels accept it as it is. The C
 * library's headers may predate it, so it is spelled out here. */
typedef struct pidfd_info_v0 {
    uint64_t mask;
    uint64_t cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
} pidfd_info_v0;

_Static_assert(sizeof(pidfd_info_v0) == 64, "PIDFD_INFO_SIZE_VER0");

#define TH_PIDFD_GET_INFO _IOWR(0xFF, 11, pidfd_info_v0)
#define TH_PIDFD_INFO_EXIT (1ULL << 3)

int th__pidfd_open(pid_t pid) {
    /* pidfds are close-on-exec always. */
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int th__pidfd_kill(int pidfd, int signo) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0);
}

int th__pidfd_exit_status(int pidfd, int *status) {
    pidfd_info_v0 info;
    memset(&info, 0, sizeof info);
    info.mask = TH_PIDFD_INFO_EXIT;
    if (ioctl(pidfd, TH_PIDFD_GET_INFO, &info) != 0) {
        /* Reaped: a kernel without PIDFD_INFO_EXIT no longer knows the process. */
        return -1;
    }
    if (!(info.mask & TH_PIDFD_INFO_EXIT)) return 0;
    *status = info.exit_code;
    return 1;
}

int th__pidfd_exited(int pidfd) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN, .revents = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

int th__pidfd_exit_supported(void) {
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) != 0) return 0;
    pid_t child = fork();
    if (child < 0) {
        close(gate[0]);
        close(gate[1]);
        return 0;
    }
    if (child == 0) {
        /* Waits until the parent holds its pidfd: reaped before, it would leave nothing to ask. */
        char byte;
        close(gate[1]);
        while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
        }
        _exit(42);
    }
    close(gate[0]);
    int pidfd = th__pidfd_open(child);
    close(gate[1]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    int reported = 0, supported = 0;
    if (pidfd >= 0) {
        supported = th__pidfd_exit_status(pidfd, &reported) == 1 && WIFEXITED(reported) && WEXITSTATUS(reported) == 42;
        close(pidfd);
    }
    return supported;
}
