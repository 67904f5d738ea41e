/*
 * The sandbox's system-call filter, with libseccomp (see th_sandbox.h).
 *
 * A deny list, not an allow list: plugins are arbitrary native code whose
 * harmless calls no list could foresee, while the calls that reach outside
 * the worker — new processes, programs, other processes' memory, the
 * network, privileges, the kernel's own state — are few and named here.
 * Files are Landlock's job (sandbox_files.c).
 */
#include "th_sandbox.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000
#endif

/* Calls trapped whatever their arguments. */
static const char *const forbidden_calls[] = {
    /* processes and programs */
    "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "kcmp", "unshare", "setns",
    /* network: a connection, a listener, a datagram to an address */
    "connect", "bind", "listen", "accept", "accept4",
    /* privileges */
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
    "capset",
    /* file systems and the system's own state */
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at", "quotactl", "swapon", "swapoff", "acct",
    "init_module", "finit_module", "delete_module", "reboot", "kexec_load", "kexec_file_load", "sethostname",
    "setdomainname", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "iopl", "ioperm",
    /* kernel facilities that widen what a process can reach */
    "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register",
};

/* Calls trapped only for some arguments (the rest stay allowed), plus
 * socket's families and clone's flags below. */
enum {
    CLONE_INDEX, SOCKET_INDEX, SOCKETPAIR_INDEX, SENDTO_INDEX, IOCTL_INDEX, SIGACTION_INDEX,
    FIRST_SIGNAL_INDEX, /* the calls that signal a process, or open one to signal it */
    CONDITIONAL_COUNT = FIRST_SIGNAL_INDEX + 6
};
static const char *const conditional_calls[CONDITIONAL_COUNT] = {
    "clone", "socket", "socketpair", "sendto", "ioctl", "rt_sigaction",
    "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
};

#define FORBIDDEN_COUNT (sizeof forbidden_calls / sizeof *forbidden_calls)

/* For the SIGSYS handler, which sees only globals: the trapped calls'
 * numbers beside their names, and the page to write the name into. */
static int g_numbers[FORBIDDEN_COUNT + CONDITIONAL_COUNT];
static th__worker_page *g_page;

static const char *name_of(int number) {
    for (size_t i = 0; i < FORBIDDEN_COUNT; i++)
        if (g_numbers[i] == number) return forbidden_calls[i];
    for (size_t i = 0; i < CONDITIONAL_COUNT; i++)
        if (g_numbers[FORBIDDEN_COUNT + i] == number) return conditional_calls[i];
    return NULL;
}

/* Records the call in the shared page and dies of SIGSYS (the disposition
 * is back to the default on entry, SA_RESETHAND; the raised signal is
 * delivered when the handler returns). Async-signal-safe. */
static void forbidden_call(int signo, siginfo_t *info, void *context) {
    (void)context;
    const char *name = name_of(info->si_syscall);
    char unknown[24] = "syscall ";
    if (!name) {
        /* A call the filter does not name (another architecture's): its number. */
        char digits[12];
        int n = 0;
        unsigned value = (unsigned)info->si_syscall;
        do digits[n++] = (char)('0' + value % 10); while ((value /= 10) && n < 11);
        for (int i = 0; i < n; i++) unknown[8 + i] = digits[n - 1 - i];
        unknown[8 + n] = 0;
        name = unknown;
    }
    size_t length = strlen(name);
    if (length >= sizeof g_page->forbidden_call) length = sizeof g_page->forbidden_call - 1;
    memcpy((char *)g_page->forbidden_call, name, length);
    g_page->forbidden_call[length] = 0;
    raise(signo);
}

static int install_handler(char *error, size_t error_size) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forbidden_call;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
    sigset_t sigsys;
    sigemptyset(&sigsys);
    sigaddset(&sigsys, SIGSYS);
    if (sigaction(SIGSYS, &sa, NULL) != 0 || sigprocmask(SIG_UNBLOCK, &sigsys, NULL) != 0) {
        snprintf(error, error_size, "cannot catch SIGSYS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Adds the trap rules; returns 0 or a negative errno (libseccomp's convention). */
static int add_rules(scmp_filter_ctx filter) {
    for (size_t i = 0; i < FORBIDDEN_COUNT + CONDITIONAL_COUNT; i++) {
        const char *name = i < FORBIDDEN_COUNT ? forbidden_calls[i] : conditional_calls[i - FORBIDDEN_COUNT];
        g_numbers[i] = seccomp_syscall_resolve_name(name);
        /* A call this architecture does not have needs no rule. */
        if (g_numbers[i] == __NR_SCMP_ERROR || g_numbers[i] < 0) g_numbers[i] = -1;
        if (i < FORBIDDEN_COUNT && g_numbers[i] >= 0) {
            int rc = seccomp_rule_add(filter, SCMP_ACT_TRAP, g_numbers[i], 0);
            if (rc != 0) return rc;
        }
    }
    int rc = 0;
    const int *conditional = g_numbers + FORBIDDEN_COUNT;
    /* Threads only: a clone without CLONE_THREAD is a new process. */
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[CLONE_INDEX], 1,
                                    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    /* clone3's flags sit in memory a filter cannot read: it answers ENOSYS,
     * and the C library falls back to clone, which is checked above. */
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* Sockets: Unix ones only, and only those that reach nothing by
     * themselves (stream and seqpacket need connect, which is trapped). */
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[SOCKET_INDEX], 1,
                                    SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0));
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[SOCKET_INDEX], 2,
                                    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0), SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[SOCKETPAIR_INDEX], 1,
                                    SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0));
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[SENDTO_INDEX], 1,
                                    SCMP_A4(SCMP_CMP_NE, 0, 0));
    /* Typing into the terminal the host runs in, or its console. */
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[IOCTL_INDEX], 1,
                                    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[IOCTL_INDEX], 1,
                                    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
    /* The SIGSYS handler above is the one that reports: nobody replaces it. */
    rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[SIGACTION_INDEX], 2,
                                    SCMP_A0(SCMP_CMP_EQ, SIGSYS, 0), SCMP_A1(SCMP_CMP_NE, 0, 0));
    /* No signal at the processes that supervise the worker: the fork server
     * (which builds this program), the host, their process group, or every
     * process (-1). Landlock's signal scope (ABI 6) refuses signals outside
     * the worker with EPERM; this names these on any kernel. Compared on
     * the low 32 bits: a pid_t argument's upper half is not defined. */
    const int32_t targets[] = {(int32_t)getpid(), (int32_t)getppid(), -(int32_t)getpgrp(), -1};
    for (int call = FIRST_SIGNAL_INDEX; call < CONDITIONAL_COUNT; call++) {
        if (conditional[call] < 0) continue;
        for (size_t t = 0; t < sizeof targets / sizeof *targets; t++)
            rc = rc ? rc : seccomp_rule_add(filter, SCMP_ACT_TRAP, conditional[call], 1,
                                            SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, (uint32_t)targets[t]));
    }
    return rc;
}

/* The program libseccomp compiled, kept for every worker to load. */
static struct sock_fprog g_program;

/* Compiles the filter and reads the program back: libseccomp 2.5 exports
 * only to a descriptor. Returns 0 or a negative errno. */
static int export_program(scmp_filter_ctx filter) {
    int fd = memfd_create("taskhost-seccomp", MFD_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = seccomp_export_bpf(filter, fd);
    off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
    struct sock_filter *code = NULL;
    if (rc == 0 && (size <= 0 || size % (off_t)sizeof *code != 0 || size / (off_t)sizeof *code > USHRT_MAX)) rc = -EINVAL;
    if (rc == 0 && !(code = malloc((size_t)size))) rc = -ENOMEM;
    if (rc == 0 && pread(fd, code, (size_t)size, 0) != size) rc = -EIO;
    close(fd);
    if (rc != 0) {
        free(code);
        return rc;
    }
    g_program.len = (unsigned short)(size / (off_t)sizeof *code);
    g_program.filter = code;
    return 0;
}

int th__sandbox_build_filter(char *error, size_t error_size) {
    if (g_program.filter) return 0;
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
    if (!filter) {
        snprintf(error, error_size, "cannot create a seccomp filter");
        return -1;
    }
    /* Another architecture's calls (32-bit int 0x80) would slip past rules
     * written for this one's numbers. */
    int rc = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
    /* A binary tree of call numbers, not a list: the kernel runs the program
     * for every call number when it loads it (to cache the allowed ones),
     * which made a list cost ~170 us of each worker's start. */
    if (rc == 0) rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (rc == 0) rc = add_rules(filter);
    if (rc == 0) rc = export_program(filter);
    seccomp_release(filter);
    if (rc != 0) {
        snprintf(error, error_size, "cannot build the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

int th__sandbox_load_filter(th__worker_page *page, char *error, size_t error_size) {
    g_page = page;
    if (!g_program.filter) {
        snprintf(error, error_size, "the seccomp filter was not built");
        return -1;
    }
    if (install_handler(error, error_size) != 0) return -1;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &g_program) != 0) {
        snprintf(error, error_size, "cannot load the seccomp filter: %s", strerror(errno));
        return -1;
    }
    return 0;
}
