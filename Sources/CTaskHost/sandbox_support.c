/* Whether this kernel can sandbox workers (see th_sandbox_support.h). Raw
 * system calls only: the answer must not need libseccomp. */
#include "th_sandbox_support.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

int th__sandbox_support(char *why, size_t why_size) {
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    if (abi < 1) {
        if (errno == EOPNOTSUPP)
            snprintf(why, why_size, "Landlock is turned off on this kernel (it is missing from the lsm= boot parameter)");
        else
            snprintf(why, why_size, "this kernel has no Landlock (Linux 5.13 or later)");
        return -1;
    }
    uint32_t trap = SECCOMP_RET_TRAP;
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &trap) != 0) {
        snprintf(why, why_size, "this kernel has no seccomp filters that can trap system calls");
        return -1;
    }
    return abi;
}
