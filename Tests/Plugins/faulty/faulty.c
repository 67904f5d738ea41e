/*
 * faulty — a test-only plugin whose tasks misbehave on chosen inputs, so
 * tests can map over ranges where a few items crash, exit, hang, eat memory
 * or attack the host's pipes. Built by the tests with cc; never shipped.
 *
 * Every misbehaving task returns x when it behaves. Each misbehaves when
 * x == 3, and segv also whenever x is a multiple of 97 (segv97 only then).
 * The tasks after fds report on the worker (its pid, limits, stdin), keep
 * state for initializers, log their runs, or print.
 */
#include <taskhost/plugin.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

static int64_t segv(int64_t x) {
    if (x == 3 || (x > 0 && x % 97 == 0)) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    return x;
}

static int64_t abort_task(int64_t x) {
    if (x == 3) abort();
    return x;
}

static int64_t exit_task(int64_t x) {
    if (x == 3) exit(7);
    if (x == 4) exit(0);
    return x;
}

static int64_t fpe(int64_t x) {
    if (x == 3) raise(SIGFPE);
    return x;
}

static int64_t bus(int64_t x) {
    if (x == 3) raise(SIGBUS);
    return x;
}

static int64_t ill(int64_t x) {
    if (x == 3) raise(SIGILL);
    return x;
}

static int64_t hang(int64_t x) {
    if (x == 3)
        for (volatile int spin = 0;; spin++) {
        }
    return x;
}

static int64_t sleepy(int64_t x) {
    usleep((useconds_t)(x * 1000));
    return x;
}

static int64_t eat(int64_t x) {
    if (x == 3) {
        for (;;) {
            char *block = malloc(1 << 20);
            if (!block) abort(); /* what most code does when memory runs out */
            memset(block, 1, 1 << 20);
        }
    }
    return x;
}

static int64_t garbage(int64_t x) {
    if (x == 3) {
        static const char junk[] = "\xde\xad\xbe\xef this is not a frame \x01\x02\x03";
        for (int fd = 0; fd < 256; fd++) (void)!write(fd, junk, sizeof junk);
    }
    return x;
}

static int64_t close_all(int64_t x) {
    if (x == 3)
        for (int fd = 0; fd < 1024; fd++) close(fd);
    return x;
}

static int64_t linger(int64_t x) {
    if (x == 3) {
        if (fork() == 0) {
            for (;;) pause(); /* keeps every inherited pipe open */
        }
        _exit(3);
    }
    return x;
}

static int64_t huge_prefix(int64_t x) {
    if (x == 3) {
        /* A frame header that claims a body of 0xFFFFFFF0 bytes. */
        static const unsigned char header[8] = {0xf0, 0xff, 0xff, 0xff, 16, 1, 0, 0};
        for (int fd = 3; fd < 256; fd++) (void)!write(fd, header, sizeof header);
    }
    if (x == 4) {
        /* A plausible header (100 MiB body) that is never filled. */
        static const unsigned char header[8] = {0, 0, 0x40, 0x06, 16, 1, 0, 0};
        for (int fd = 3; fd < 256; fd++) (void)!write(fd, header, sizeof header);
        for (;;) pause();
    }
    return x;
}

static int64_t fail(th_context *ctx, int64_t x) {
    if (x == 3) th_set_errorf(ctx, "refusing %lld", (long long)x);
    return x;
}

static int64_t fds(int64_t x) {
    /* Counts this worker's open descriptors. */
    int count = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1) count++;
    return x * 0 + count;
}

static int64_t segv97(int64_t x) {
    if (x > 0 && x % 97 == 0) {
        volatile int *nowhere = NULL;
        *nowhere = 1;
    }
    return x;
}

static int64_t pid_task(int64_t x) {
    (void)x;
    return (int64_t)getpid();
}

/* Worker state for the initializer tests: set_global stores x, get_global reads it. */
static int64_t global_value;

static int64_t set_global(int64_t x) {
    global_value = x;
    return x;
}

static int64_t get_global(int64_t x) {
    (void)x;
    return global_value;
}

/* Appends "x\n" to DIR/runs, one write, so tests can count how often each item ran. */
static void log_run(const char *dir, int64_t x) {
    char path[4096], line[32];
    snprintf(path, sizeof path, "%s/runs", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    int length = snprintf(line, sizeof line, "%lld\n", (long long)x);
    (void)!write(fd, line, (size_t)length);
    close(fd);
}

/* Crashes on x == 3 unless DIR/marker exists (it creates it first): fails
 * only on its first run. Every run is logged in DIR/runs. */
static int64_t crash_once(const char *dir, int64_t x) {
    log_run(dir, x);
    if (x == 3) {
        char path[4096];
        snprintf(path, sizeof path, "%s/marker", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            volatile int *nowhere = NULL;
            *nowhere = 1;
        }
    }
    return x;
}

/* As segv, but logs every run in DIR/runs first. */
static int64_t segv_logged(const char *dir, int64_t x) {
    log_run(dir, x);
    return segv(x);
}

/* As close_all, but logs every run in DIR/runs first. */
static int64_t close_all_logged(const char *dir, int64_t x) {
    log_run(dir, x);
    return close_all(x);
}

/* The worker's soft RLIMIT_CORE (-1 for unlimited). */
static int64_t core_limit(int64_t x) {
    (void)x;
    struct rlimit limit;
    if (getrlimit(RLIMIT_CORE, &limit) != 0) return -2;
    return limit.rlim_cur == RLIM_INFINITY ? -1 : (int64_t)limit.rlim_cur;
}

/* 1 when the worker's stdin is /dev/null, else 0. */
static int64_t stdin_null(int64_t x) {
    (void)x;
    struct stat in, null;
    if (fstat(0, &in) != 0 || stat("/dev/null", &null) != 0) return 0;
    return S_ISCHR(in.st_mode) && in.st_rdev == null.st_rdev;
}

/* On x == 3 or 4: forks a child that lingers, writes its pid to PATH, then
 * exits with 3 (x == 3) or hangs (x == 4). */
static int64_t linger_pid(const char *path, int64_t x) {
    if (x == 3 || x == 4) {
        pid_t child = fork();
        if (child == 0) {
            for (;;) pause();
        }
        char text[32];
        int length = snprintf(text, sizeof text, "%d\n", (int)child);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            (void)!write(fd, text, (size_t)length);
            close(fd);
        }
        if (x == 3) _exit(3);
        for (;;) pause();
    }
    return x;
}

/* Prints a line on stdout: "shout x". */
static int64_t shout(int64_t x) {
    printf("shout %lld\n", (long long)x);
    fflush(stdout);
    return x;
}

static const th_param x_param[] = {{"x", TH_INT64}};
static const th_param dir_x_params[] = {{"dir", TH_STRING}, {"x", TH_INT64}};
static const th_param path_x_params[] = {{"path", TH_STRING}, {"x", TH_INT64}};
#define FAULTY(NAME, FN, SUMMARY) \
    {.name = NAME, .summary = SUMMARY, .function = TH_FN(FN), .result = TH_INT64, .params = x_param, .param_count = 1}

static const th_task tasks[] = {
    FAULTY("segv", segv, "SIGSEGV when x is 3 or a multiple of 97"),
    FAULTY("abort", abort_task, "abort() when x is 3"),
    FAULTY("exit", exit_task, "exit(7) when x is 3, exit(0) when 4"),
    FAULTY("fpe", fpe, "SIGFPE when x is 3"),
    FAULTY("bus", bus, "SIGBUS when x is 3"),
    FAULTY("ill", ill, "SIGILL when x is 3"),
    FAULTY("hang", hang, "loops forever when x is 3"),
    FAULTY("sleepy", sleepy, "sleeps x milliseconds"),
    FAULTY("eat", eat, "allocates without bound when x is 3"),
    FAULTY("garbage", garbage, "writes garbage to every descriptor when x is 3"),
    FAULTY("close_all", close_all, "closes every descriptor when x is 3"),
    FAULTY("linger", linger, "forks a lingering child and exits when x is 3"),
    FAULTY("huge_prefix", huge_prefix, "a 4 GiB length prefix when 3, an unfilled 100 MiB one when 4"),
    {.name = "fail", .summary = "a task error when x is 3", .function = TH_FN(fail), .result = TH_INT64,
     .params = x_param, .param_count = 1, .flags = TH_TASK_CONTEXT},
    FAULTY("fds", fds, "how many descriptors the worker holds"),
    FAULTY("segv97", segv97, "SIGSEGV when x is a multiple of 97"),
    FAULTY("pid", pid_task, "the worker's process id"),
    FAULTY("set_global", set_global, "stores x in the worker (for initializers)"),
    FAULTY("get_global", get_global, "what set_global stored in this worker (0 if nothing)"),
    {.name = "crash_once", .summary = "logs the run in dir/runs; SIGSEGV when x is 3 unless dir/marker exists",
     .function = TH_FN(crash_once), .result = TH_INT64, .params = dir_x_params, .param_count = 2},
    {.name = "segv_logged", .summary = "logs the run in dir/runs, then as segv",
     .function = TH_FN(segv_logged), .result = TH_INT64, .params = dir_x_params, .param_count = 2},
    {.name = "close_all_logged", .summary = "logs the run in dir/runs, then as close_all",
     .function = TH_FN(close_all_logged), .result = TH_INT64, .params = dir_x_params, .param_count = 2},
    FAULTY("core_limit", core_limit, "the worker's soft RLIMIT_CORE (-1: unlimited)"),
    FAULTY("stdin_null", stdin_null, "1 when the worker's stdin is /dev/null"),
    {.name = "linger_pid", .summary = "on 3 or 4, forks a lingering child, writes its pid to path, then exits (3) or hangs (4)",
     .function = TH_FN(linger_pid), .result = TH_INT64, .params = path_x_params, .param_count = 2},
    FAULTY("shout", shout, "prints 'shout x' on stdout"),
};
TH_EXPORT_PLUGIN("faulty", "1.0.0", "Misbehaves on purpose, for tests", tasks)
