/* Forking one worker (see th_worker_fork.h). */
#include "th_worker_fork.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "th_ipc.h"
#include "th_pidfd.h"

void th__fresh_worker_clear(th__fresh_worker *w) {
    w->pid = 0;
    w->request = w->result = w->page_fd = w->pidfd = -1;
}

void th__fresh_worker_close(th__fresh_worker *w) {
    int all[] = {w->request, w->result, w->page_fd, w->pidfd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] >= 0) close(all[i]);
    th__fresh_worker_clear(w);
}

void th__kill_process(pid_t pid, int pidfd) {
    kill(-pid, SIGKILL);
    /* Through its pidfd when there is one: once reaped, its pid may be another's. */
    if (pidfd >= 0) th__pidfd_kill(pidfd, SIGKILL);
    else kill(pid, SIGKILL);
}

/* In the child: set up, sandbox, serve. Never returns. */
_Noreturn static void become_worker(th__plugin_set *plugins, int request, int result, th__worker_page *page,
                                    const th__sandbox_prepared *sandbox, int spare) {
    /* The server's SA_NOCLDWAIT (exits by pidfd) is not the task's: a task
     * that forks and waits for its child must find it as in any process. */
    struct sigaction child;
    memset(&child, 0, sizeof child);
    child.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &child, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int keep[3] = {request, result, sandbox ? sandbox->ruleset_fd : -1};
    th__worker_setup(keep, sandbox ? 3 : 2, page);
    if (sandbox) {
        th__worker_keep_statm();
        char why[256];
        if (th__sandbox_enter(sandbox, page, why, sizeof why) != 0) {
            /* Never run a task unsandboxed that was meant to be sandboxed. */
            dprintf(2, "taskhost: a worker could not enter its sandbox: %s\n", why);
            _exit(70);
        }
        close(sandbox->ruleset_fd);
    }
    if (spare) th__worker_warm_up();
    th__worker_run(plugins, request, result, page);
}

int th__fork_worker(th__plugin_set *plugins, th__fresh_worker *w, const th__sandbox_prepared *sandbox,
                    const uint8_t *start, size_t start_length, int with_pidfd, char *error, size_t error_size) {
    th__fresh_worker_clear(w);
    int requests[2] = {-1, -1}, results[2] = {-1, -1};
    int page_fd = memfd_create("taskhost-worker-page", MFD_CLOEXEC);
    th__worker_page *page = MAP_FAILED;
    if (page_fd >= 0 && ftruncate(page_fd, TH_WORKER_PAGE_SIZE) == 0)
        page = mmap(NULL, TH_WORKER_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, page_fd, 0);
    pid_t pid = -1;
    int pidfd = -1;
    if (page == MAP_FAILED || pipe2(requests, O_CLOEXEC) != 0 || pipe2(results, O_CLOEXEC) != 0) {
        snprintf(error, error_size, "cannot create a worker's pipes: %s", strerror(errno));
    } else {
        /* Big pipes let a worker stream results without waiting for the host. */
        fcntl(results[1], F_SETPIPE_SZ, 1 << 20);
        int capacity = fcntl(requests[1], F_SETPIPE_SZ, 1 << 20);
        /* Written ahead, the first requests wait for the worker: it finds
         * them as it starts, without sleeping to be woken for them. Not with
         * a pidfd: a worker that ran them all and exited before its pidfd was
         * opened would be reaped by then, its end lost. */
        int ahead = !with_pidfd && start && capacity > 0 && start_length <= (size_t)capacity;
        if (ahead && th__write_all(requests[1], start, start_length) != 0) {
            snprintf(error, error_size, "cannot write a worker's first requests: %s", strerror(errno));
        } else {
            pid = fork();
            if (pid < 0) snprintf(error, error_size, "cannot fork a worker: %s", strerror(errno));
            if (pid == 0) become_worker(plugins, requests[0], results[1], page, sandbox, start == NULL);
            if (pid > 0 && with_pidfd) {
                /* It waits for its requests: only a death in its setup can be quicker. */
                pidfd = th__pidfd_open(pid);
                if (pidfd < 0) {
                    if (errno == ESRCH) {
                        snprintf(error, error_size, "a new worker died before it started");
                    } else {
                        snprintf(error, error_size, "cannot open a worker's pidfd: %s", strerror(errno));
                        kill(pid, SIGKILL); /* reaped by the kernel */
                    }
                    pid = -1;
                }
            }
            if (pid > 0 && start && !ahead && th__write_all(requests[1], start, start_length) != 0) {
                snprintf(error, error_size, "a new worker died before it started");
                th__kill_process(pid, pidfd); /* reaped (and ignored) with the others */
                pid = -1;
            }
        }
    }
    if (page != MAP_FAILED) munmap(page, TH_WORKER_PAGE_SIZE);
    if (requests[0] >= 0) close(requests[0]);
    if (results[1] >= 0) close(results[1]);
    w->pid = pid > 0 ? pid : 0;
    w->request = requests[1];
    w->result = results[0];
    w->page_fd = page_fd;
    w->pidfd = pidfd;
    if (pid > 0) return 0;
    th__fresh_worker_close(w);
    return -1;
}
