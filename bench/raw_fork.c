/*
 * The floor for process start + join: a C program with the same plugin
 * libraries loaded forks a child that exits at once, and waits for it.
 * No pipes, no task, no supervision.
 *
 * Usage: raw_fork COUNT PLUGIN.so...    prints: raw_fork_ms <ms per process>
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 300;
    for (int i = 2; i < argc; i++)
        if (!dlopen(argv[i], RTLD_NOW | RTLD_LOCAL)) fprintf(stderr, "raw_fork: %s\n", dlerror());
    double start = seconds();
    for (int i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) return 1;
    }
    printf("raw_fork_ms\t%.4f\tms\n", (seconds() - start) / count * 1e3);
    return 0;
}
