/*
 * taskhost-forkserver — started by the TaskHost library (th_spawn.h) with
 * its socket on descriptor 3, the pipe for plugins' load-time output on 4,
 * the host's pid as its argument, and optionally `--exits-by-waitpid`
 * (th_forkserver.h). Runs no threads, so fork() is safe here.
 */
#include <stdlib.h>
#include <string.h>

#include <th_forkserver.h>

int main(int argc, char **argv) {
    int exits_by_waitpid = argc > 2 && strcmp(argv[2], "--exits-by-waitpid") == 0;
    th__forkserver_main(3, argc > 1 ? (pid_t)atol(argv[1]) : 0, 4, exits_by_waitpid);
}
