/*
 * without_landlock — runs a command as if the kernel had no Landlock: a
 * seccomp filter (libseccomp) makes landlock_create_ruleset fail with
 * ENOSYS, as on a kernel built without it, for the command and everything
 * it starts. Built by the sandbox tests; usage: without_landlock PROGRAM ARGS...
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: without_landlock PROGRAM ARGS...\n");
        return 2;
    }
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    int rc = filter ? seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset), 0) : -ENOMEM;
    if (rc == 0) rc = seccomp_load(filter); /* sets no_new_privs itself */
    if (rc != 0) {
        fprintf(stderr, "without_landlock: cannot load the filter: %s\n", strerror(-rc));
        return 1;
    }
    seccomp_release(filter);
    execv(argv[1], argv + 1);
    fprintf(stderr, "without_landlock: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}
