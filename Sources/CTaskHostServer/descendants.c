/* Killing everything below the fork server (see th_descendants.h). */
#include "th_descendants.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Calls `each` for every pid in /proc/self/task/<pid>/children (the fork
 * server has one thread, whose id is its pid). Returns how many it saw. */
static int for_each_child(void (*each)(pid_t)) {
    char path[64] = "/proc/self/task/";
    char digits[16];
    int n = 0;
    for (pid_t p = getpid(); p > 0 && n < (int)sizeof digits; p /= 10) digits[n++] = (char)('0' + p % 10);
    size_t at = 16;
    while (n > 0) path[at++] = digits[--n];
    const char tail[] = "/children";
    for (size_t i = 0; i < sizeof tail; i++) path[at++] = tail[i];

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int seen = 0;
    pid_t current = 0;
    char buffer[512];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0 || (got < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < got; i++) {
            if (buffer[i] >= '0' && buffer[i] <= '9') {
                current = current * 10 + (buffer[i] - '0');
            } else if (current > 0) {
                if (each) each(current);
                seen++;
                current = 0;
            }
        }
    }
    if (current > 0) {
        if (each) each(current);
        seen++;
    }
    close(fd);
    return seen;
}

static void kill_with_group(pid_t pid) {
    kill(-pid, SIGKILL); /* its group, when it leads one (workers do) */
    kill(pid, SIGKILL);
}

static pid_t first_child;
static void remember_first(pid_t pid) {
    if (!first_child) first_child = pid;
}

pid_t th__any_child(void) {
    first_child = 0;
    for_each_child(remember_first);
    if (first_child) return first_child;
    /* A child that already exited is no longer listed, but still ours. */
    siginfo_t info;
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid > 0) return info.si_pid;
    return 0;
}

void th__kill_descendants(void) {
    /* Children reaped by the kernel (SA_NOCLDWAIT) would make waitpid wait
     * for all of them at once, orphans that come back included: reap here. */
    struct sigaction reap;
    memset(&reap, 0, sizeof reap);
    reap.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &reap, NULL);
    for (;;) {
        for_each_child(kill_with_group);
        /* Each death may hand us its orphans (we are their subreaper): list again. */
        pid_t reaped = waitpid(-1, NULL, 0);
        if (reaped < 0 && errno == EINTR) continue;
        if (reaped < 0) return; /* ECHILD: nothing is left below us */
    }
}
