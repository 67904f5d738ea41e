/*
 * escape — a test-only plugin whose one task, attempt(action, target),
 * tries one thing a sandboxed worker must not do (or may do, inside its
 * allowed folders). Unsandboxed, every attempt succeeds; sandboxed, file
 * access fails with EACCES (a taskError naming the errno) and the rest stop
 * the worker with SIGSYS. Built by the tests with cc; never shipped.
 */
#include <taskhost/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The bytes read from `path`. */
static int64_t read_file(th_context *ctx, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        th_set_errorf(ctx, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char buffer[4096];
    int64_t total = 0;
    ssize_t n;
    while ((n = read(fd, buffer, sizeof buffer)) > 0) total += n;
    close(fd);
    return total;
}

/* Writes "escaped\n" to `path` (created or truncated); the bytes written. */
static int64_t write_file(th_context *ctx, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        th_set_errorf(ctx, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = write(fd, "escaped\n", 8);
    close(fd);
    return n;
}

/* Connects to 127.0.0.1:port; 1 when connected. */
static int64_t connect_tcp(th_context *ctx, int64_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        th_set_errorf(ctx, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&address, sizeof address);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        th_set_errorf(ctx, "connect: %s", strerror(saved));
        return -1;
    }
    return 1;
}

/* Forks a child that exits with 7; its exit code. */
static int64_t spawn_child(th_context *ctx) {
    pid_t pid = fork();
    if (pid < 0) {
        th_set_errorf(ctx, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) _exit(7);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs /bin/true with execve in this very process: unsandboxed the worker
 * becomes /bin/true (and its item ends as `exited` with code 0). */
static int64_t exec_true(th_context *ctx) {
    char *const argv[] = {"true", NULL};
    char *const envp[] = {NULL};
    execve("/bin/true", argv, envp);
    th_set_errorf(ctx, "execve: %s", strerror(errno));
    return -1;
}

/* Asks to be traced by its parent (the fork server); 1 when allowed. */
static int64_t trace_me(th_context *ctx) {
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
        th_set_errorf(ctx, "ptrace: %s", strerror(errno));
        return -1;
    }
    return 1;
}

static void *thread_body(void *arg) { return arg; }

/* Runs a thread and joins it (threads stay allowed in the sandbox); 1. */
static int64_t run_thread(th_context *ctx) {
    pthread_t thread;
    int rc = pthread_create(&thread, NULL, thread_body, NULL);
    if (rc != 0) {
        th_set_errorf(ctx, "pthread_create: %s", strerror(rc));
        return -1;
    }
    pthread_join(thread, NULL);
    return 1;
}

/* Sends SIGTERM to the worker's parent (the fork server), or to every
 * process with target "-1"; 1 when sent. Unsandboxed it is sent: run it
 * only in the sandbox. */
static int64_t signal_out(th_context *ctx, const char *target) {
    pid_t pid = strcmp(target, "-1") == 0 ? -1 : getppid();
    if (kill(pid, SIGTERM) != 0) {
        th_set_errorf(ctx, "kill: %s", strerror(errno));
        return -1;
    }
    return 1;
}

/* One task for them all, so one starmap can mix escapes with harmless
 * items: action is read, write, connect, fork, exec, ptrace, thread, kill
 * (parent or -1: sandboxed only!) or echo;
 * target is the path, the port, or (echo) the number returned. */
static int64_t attempt(th_context *ctx, const char *action, const char *target) {
    if (strcmp(action, "read") == 0) return read_file(ctx, target);
    if (strcmp(action, "write") == 0) return write_file(ctx, target);
    if (strcmp(action, "connect") == 0) return connect_tcp(ctx, strtoll(target, NULL, 10));
    if (strcmp(action, "fork") == 0) return spawn_child(ctx);
    if (strcmp(action, "exec") == 0) return exec_true(ctx);
    if (strcmp(action, "ptrace") == 0) return trace_me(ctx);
    if (strcmp(action, "thread") == 0) return run_thread(ctx);
    if (strcmp(action, "kill") == 0) return signal_out(ctx, target);
    if (strcmp(action, "echo") == 0) return strtoll(target, NULL, 10);
    th_set_errorf(ctx, "unknown action '%s'", action);
    return -1;
}

static const th_param attempt_params[] = {{"action", TH_STRING}, {"target", TH_STRING}};

static const th_task tasks[] = {
    {.name = "attempt", .summary = "tries one action on a target", .function = TH_FN(attempt), .result = TH_INT64,
     .params = attempt_params, .param_count = 2, .flags = TH_TASK_CONTEXT},
};
TH_EXPORT_PLUGIN("escape", "1.0.0", "Tries to leave the sandbox", tasks)
