/* A freshly forked worker's setup (see th_worker.h): process group,
 * limits, descriptors and the memory-limit death detector. */
#include "th_worker.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* For the fatal-signal handler, which can only see globals. */
static th__worker_page *g_page;
static uint64_t g_memory_limit;
static int g_statm_fd = -1; /* opened ahead by a worker that will lose /proc (the sandbox) */

void th__worker_keep_statm(void) { g_statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC); }

/* Reports whether the address space is within 1/16 of the limit: the sign
 * that a death was caused by the memory limit. Async-signal-safe. */
static int near_memory_limit(void) {
    if (!g_memory_limit) return 0;
    int fd = g_statm_fd >= 0 ? g_statm_fd : open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[64];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (fd != g_statm_fd) close(fd);
    if (n <= 0) return 0;
    uint64_t pages = 0;
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++) pages = pages * 10 + (uint64_t)(text[i] - '0');
    uint64_t used = pages * (uint64_t)sysconf(_SC_PAGESIZE);
    return used + g_memory_limit / 16 >= g_memory_limit;
}

static void fatal_signal(int signo) {
    if (g_page && near_memory_limit()) g_page->memory_exhausted = 1;
    signal(signo, SIG_DFL);
    raise(signo);
}

static void exit_check(void) {
    if (g_page && near_memory_limit()) g_page->memory_exhausted = 1;
}

static int is_kept(int fd, const int *keep, int keep_count) {
    if (fd <= 2) return 1;
    for (int i = 0; i < keep_count; i++)
        if (keep[i] == fd) return 1;
    return 0;
}

/* Closes every descriptor above 2 but `keep` with close_range(2), gap by
 * gap. Returns -1 where the kernel lacks it (before Linux 5.9). */
static int close_ranges(const int *keep, int keep_count) {
    int sorted[8];
    if (keep_count > 8) return -1;
    memcpy(sorted, keep, sizeof(int) * (size_t)keep_count);
    for (int i = 1; i < keep_count; i++)
        for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            int t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    unsigned first = 3;
    for (int i = 0; i < keep_count; i++) {
        if (sorted[i] < (int)first) continue;
        if (sorted[i] > (int)first && close_range(first, (unsigned)sorted[i] - 1, 0) != 0) return -1;
        first = (unsigned)sorted[i] + 1;
    }
    return close_range(first, ~0u, 0);
}

static void close_other_descriptors(const int *keep, int keep_count) {
    if (close_ranges(keep, keep_count) == 0) return;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        for (int fd = 3; fd < 1024; fd++)
            if (!is_kept(fd, keep, keep_count)) close(fd);
        return;
    }
    int own = dirfd(dir);
    int doomed[1024];
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
        int fd = atoi(entry->d_name);
        if (fd != own && !is_kept(fd, keep, keep_count)) doomed[count++] = fd;
    }
    closedir(dir);
    for (int i = 0; i < count; i++) close(doomed[i]);
}

void th__worker_setup(const int *keep, int keep_count, th__worker_page *page) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) _exit(70); /* the fork server is already gone */

    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);

    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        close(null_fd);
    }
    close_other_descriptors(keep, keep_count);

    /* The fork server already reset every other disposition at its start;
     * only what it changed for itself needs undoing. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* Ctrl-C is the host's to handle; it ends the workers itself */
    g_page = page;
}

void th__worker_warm_up(void) {
    /* Stack the task may use, written once from the deepest page up. */
    volatile char stack[64 * 1024];
    for (size_t at = sizeof stack; at > 0; at -= 4096) stack[at - 1] = 0;
    /* Heap for the request and result buffers: chunks under malloc's mmap
     * threshold, so the pages stay in its arena once freed. */
    enum { CHUNKS = 6, CHUNK = 16 * 1024 };
    void *chunks[CHUNKS];
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = malloc(CHUNK);
        if (chunks[i]) memset(chunks[i], 0, CHUNK);
    }
    for (int i = CHUNKS - 1; i >= 0; i--) free(chunks[i]);
    fflush(NULL); /* the C library's stream state */
}

void th__worker_apply_settings(const th__msg_settings *settings) {
    if (settings->task_output == TH_OUTPUT_STDERR) dup2(2, 1);
    g_memory_limit = settings->memory_limit;
    if (settings->memory_limit) {
        struct rlimit limit = {settings->memory_limit, settings->memory_limit};
        setrlimit(RLIMIT_AS, &limit);
        static char alt_stack[16384];
        stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = fatal_signal;
        sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
        int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
        atexit(exit_check);
    }
}

