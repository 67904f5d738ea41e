/*
 * taskhost-forkserver — started by the TaskHost library (th_spawn.h) with
 * its socket on descriptor 3, the pipe for plugins' load-time output on 4,
 * and the host's pid as its argument. Runs no threads, so fork() is safe
 * here.
 */
#include <stdlib.h>

#include <th_forkserver.h>

int main(int argc, char **argv) { th__forkserver_main(3, argc > 1 ? (pid_t)atol(argv[1]) : 0, 4); }
