/*
 * faulty — a test-only plugin whose tasks misbehave on chosen inputs, so
 * tests can map over ranges where a few items crash, exit, hang, eat memory
 * or attack the host's pipes. Built by the tests with cc; never shipped.
 *
 * Every task returns x when it behaves. Each misbehaves when x == 3, and
 * segv also whenever x is a multiple of 97.
 */
#include <taskhost/plugin.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

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

static const th_param x_param[] = {{"x", TH_INT64}};
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
};
TH_EXPORT_PLUGIN("faulty", "1.0.0", "Misbehaves on purpose, for tests", tasks)
