/* Starting the fork server, and finding it (see th_spawn.h). */
#include "th_spawn.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* The host's environment plus LD_BIND_NOW=1 (replacing any LD_BIND_NOW), or
 * NULL when out of memory. Bound now, not lazily: otherwise every forked
 * worker resolves (and so copies the pages of) each symbol it is the first to
 * call. The dynamic linker reads it at exec, so no link flag is needed. */
static char **server_environment(void) {
    static char bind_now[] = "LD_BIND_NOW=1";
    size_t count = 0;
    while (environ[count]) count++;
    char **env = malloc((count + 2) * sizeof *env);
    if (!env) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (strncmp(environ[i], "LD_BIND_NOW=", 12) != 0) env[n++] = environ[i];
    }
    env[n++] = bind_now;
    env[n] = NULL;
    return env;
}

pid_t th__spawn_server(const char *path, int socket_fd, int output_fd, int exits_by_waitpid) {
    char **env = server_environment();
    if (!env) {
        errno = ENOMEM;
        return -1;
    }
    /* Copies above 4 first, so placing one can't overwrite the other. */
    int socket_copy = fcntl(socket_fd, F_DUPFD_CLOEXEC, 5);
    int output_copy = fcntl(output_fd, F_DUPFD_CLOEXEC, 5);
    if (socket_copy < 0 || output_copy < 0) {
        int saved = errno;
        if (socket_copy >= 0) close(socket_copy);
        if (output_copy >= 0) close(output_copy);
        free(env);
        errno = saved;
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, socket_copy, 3);
    posix_spawn_file_actions_adddup2(&actions, output_copy, 4);
    /* Nothing else of the host's: a pipe the host's other code opened (without
     * O_CLOEXEC) must not stay open for the fork server's whole life. */
    posix_spawn_file_actions_addclosefrom_np(&actions, 5);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char host[24];
    snprintf(host, sizeof host, "%ld", (long)getpid());
    char *argv[] = {(char *)path, host, exits_by_waitpid ? "--exits-by-waitpid" : NULL, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, path, &actions, &attr, argv, env);
    free(env);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(socket_copy);
    close(output_copy);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

const char *th__library_path(void) {
    Dl_info info;
    if (dladdr((void *)th__library_path, &info) == 0) return NULL;
    return info.dli_fname;
}
