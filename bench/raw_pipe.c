/*
 * The raw limit for tiny tasks: fork N children once, send them batches of
 * int64 over pipes, get the squares back. No framing, no libffi, no
 * supervision — what a hand-written C loop achieves, for comparison.
 *
 * Usage: raw_pipe ITEMS PROCESSES    prints: raw_pipe_map <items/s>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 8192

static int io(int fd, void *p, size_t n, int writing) {
    char *c = p;
    while (n) {
        ssize_t k = writing ? write(fd, c, n) : read(fd, c, n);
        if (k <= 0) return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int main(int argc, char **argv) {
    long items = argc > 1 ? atol(argv[1]) : 10000000;
    int procs = argc > 2 ? atoi(argv[2]) : 2;
    int to[16][2], from[16][2];
    for (int p = 0; p < procs; p++) {
        if (pipe(to[p]) || pipe(from[p])) return 1;
        if (fork() == 0) {
            int64_t buf[BATCH];
            uint32_t n;
            while (io(to[p][0], &n, sizeof n, 0) == 0 && n) {
                io(to[p][0], buf, n * sizeof(int64_t), 0);
                for (uint32_t i = 0; i < n; i++) buf[i] = buf[i] * buf[i];
                io(from[p][1], buf, n * sizeof(int64_t), 1);
            }
            _exit(0);
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t next = 1, checksum = 0, buf[BATCH];
    long remaining = items;
    while (remaining > 0) {
        uint32_t sent[16] = {0};
        for (int p = 0; p < procs && remaining > 0; p++) {
            uint32_t n = remaining < BATCH ? (uint32_t)remaining : BATCH;
            for (uint32_t i = 0; i < n; i++) buf[i] = next++;
            io(to[p][1], &n, sizeof n, 1);
            io(to[p][1], buf, n * sizeof(int64_t), 1);
            sent[p] = n;
            remaining -= n;
        }
        for (int p = 0; p < procs; p++) {
            if (!sent[p]) continue;
            io(from[p][0], buf, sent[p] * sizeof(int64_t), 0);
            for (uint32_t i = 0; i < sent[p]; i++) checksum += buf[i];
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint32_t zero = 0;
    for (int p = 0; p < procs; p++) io(to[p][1], &zero, sizeof zero, 1);
    while (wait(NULL) > 0) {
    }
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "checksum %lld\n", (long long)checksum);
    printf("raw_pipe_map\t%.0f\titems/s\n", (double)items / s);
    return 0;
}
