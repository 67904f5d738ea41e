/*
 * The sandbox's file rules, with Landlock (see th_sandbox.h).
 *
 * The kernel ABI is spelled out here rather than taken from
 * <linux/landlock.h>: distributions ship headers older than their kernels
 * (Debian 12's knows ABI 2, the kernel here speaks 7), and the ABI itself
 * is stable. Every right a newer ABI added is dropped on an older kernel,
 * as Documentation/userspace-api/landlock.rst prescribes.
 */
#include "th_sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* struct landlock_ruleset_attr as of ABI 6 (the kernel accepts a bigger
 * struct from an older kernel's point of view only if the tail is zero,
 * so the fields an ABI lacks stay 0). */
typedef struct ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
} ruleset_attr;

typedef struct __attribute__((packed)) path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} path_beneath_attr;

enum { CREATE_RULESET_VERSION = 1, RULE_PATH_BENEATH = 1 };

enum {
    FS_EXECUTE = 1 << 0,
    FS_WRITE_FILE = 1 << 1,
    FS_READ_FILE = 1 << 2,
    FS_READ_DIR = 1 << 3,
    FS_REMOVE_DIR = 1 << 4,
    FS_REMOVE_FILE = 1 << 5,
    FS_MAKE_CHAR = 1 << 6,
    FS_MAKE_DIR = 1 << 7,
    FS_MAKE_REG = 1 << 8,
    FS_MAKE_SOCK = 1 << 9,
    FS_MAKE_FIFO = 1 << 10,
    FS_MAKE_BLOCK = 1 << 11,
    FS_MAKE_SYM = 1 << 12,
    FS_REFER = 1 << 13,     /* ABI 2 */
    FS_TRUNCATE = 1 << 14,  /* ABI 3 */
    FS_IOCTL_DEV = 1 << 15, /* ABI 5 */
};
enum { NET_BIND_TCP = 1 << 0, NET_CONNECT_TCP = 1 << 1 };              /* ABI 4 */
enum { SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0, SCOPE_SIGNAL = 1 << 1 };  /* ABI 6 */

/* The rights that apply to a file (not a folder): a rule on a file may hold only these. */
#define FILE_RIGHTS (FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV)

#define READ_RIGHTS (FS_READ_FILE | FS_READ_DIR)
#define LIBRARY_RIGHTS (READ_RIGHTS | FS_EXECUTE)
#define WRITE_RIGHTS                                                                                        \
    (READ_RIGHTS | FS_WRITE_FILE | FS_TRUNCATE | FS_MAKE_REG | FS_MAKE_DIR | FS_MAKE_SYM | FS_REMOVE_FILE | \
     FS_REMOVE_DIR | FS_REFER)

/* Nothing of /proc: the ruleset is built in the fork server, whose
 * /proc/self is not the worker's — a rule for it would open the fork
 * server's environment and memory to its workers. */

/* What every sandboxed worker may read: the libraries it may still
 * load lazily (libgcc_s, NSS and gconv modules), the loader's cache, locale
 * and time-zone data. Missing ones are skipped. */
static const char *const system_read_paths[] = {
    "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/etc/ld.so.cache",
    "/usr/share/locale", "/usr/share/zoneinfo", "/etc/localtime",
};
/* Devices a library may open; /dev/null also for writing. */
static const char *const device_read_paths[] = {"/dev/zero", "/dev/urandom", "/dev/random"};

/* The rights this ABI knows, of all those above. */
static uint64_t known_fs_rights(int abi) {
    uint64_t rights = (1u << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2) rights |= FS_REFER;
    if (abi >= 3) rights |= FS_TRUNCATE;
    if (abi >= 5) rights |= FS_IOCTL_DEV;
    return rights;
}

typedef struct ruleset {
    int fd;
    uint64_t known; /* rights this kernel knows */
} ruleset;

/* Allows `rights` beneath `path` (or on it, for a file). A path that can't
 * be opened is skipped; returns -1 only when the kernel refuses the rule. */
static int allow(const ruleset *set, const char *path, uint64_t rights, char *error, size_t error_size) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 0;
    }
    path_beneath_attr rule = {.allowed_access = rights & set->known, .parent_fd = fd};
    if (!S_ISDIR(st.st_mode)) rule.allowed_access &= FILE_RIGHTS;
    int rc = rule.allowed_access ? (int)syscall(SYS_landlock_add_rule, set->fd, RULE_PATH_BENEATH, &rule, 0) : 0;
    int saved = errno;
    close(fd);
    if (rc != 0) {
        snprintf(error, error_size, "Landlock refused a rule for %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* Allows reading every file the process has mapped: the fork server's own
 * binary, the plugins and every library they pulled in. */
static int allow_mapped_files(const ruleset *set, char *error, size_t error_size) {
    FILE *maps = fopen("/proc/self/maps", "re");
    if (!maps) {
        snprintf(error, error_size, "cannot read /proc/self/maps: %s", strerror(errno));
        return -1;
    }
    char line[4352];
    char last[4096] = "";
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path) continue;
        path[strcspn(path, "\n")] = 0;
        if (strcmp(path, last) == 0) continue; /* a file's segments come one after another */
        snprintf(last, sizeof last, "%s", path);
        rc = allow(set, path, FS_READ_FILE | FS_EXECUTE, error, error_size);
    }
    fclose(maps);
    return rc;
}

static int allow_all(const ruleset *set, const char *const *paths, size_t count, uint64_t rights, char *error,
                     size_t error_size) {
    for (size_t i = 0; i < count; i++)
        if (allow(set, paths[i], rights, error, error_size) != 0) return -1;
    return 0;
}

static int add_rules(const ruleset *set, const th__sandbox_rules *rules, char *error, size_t error_size) {
    if (allow_all(set, system_read_paths, sizeof system_read_paths / sizeof *system_read_paths, LIBRARY_RIGHTS,
                  error, error_size) != 0 ||
        allow_all(set, device_read_paths, sizeof device_read_paths / sizeof *device_read_paths, FS_READ_FILE, error,
                  error_size) != 0 ||
        allow(set, "/dev/null", FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE, error, error_size) != 0 ||
        allow_mapped_files(set, error, error_size) != 0)
        return -1;
    if (allow_all(set, (const char *const *)rules->read_paths, rules->read_count, READ_RIGHTS, error, error_size) != 0)
        return -1;
    return allow_all(set, (const char *const *)rules->write_paths, rules->write_count, WRITE_RIGHTS, error,
                     error_size);
}

int th__sandbox_build_ruleset(const th__sandbox_rules *rules, char *error, size_t error_size) {
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, CREATE_RULESET_VERSION);
    if (abi < 1) {
        snprintf(error, error_size, "this kernel has no Landlock (%s)", strerror(errno));
        return -1;
    }
    ruleset_attr attr = {.handled_access_fs = known_fs_rights(abi)};
    if (abi >= 4) attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP; /* no rule: none allowed */
    if (abi >= 6) attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;   /* nothing outside the worker */
    size_t attr_size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
    ruleset set = {.fd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0),
                   .known = attr.handled_access_fs};
    if (set.fd < 0) {
        snprintf(error, error_size, "cannot create a Landlock ruleset: %s", strerror(errno));
        return -1;
    }
    if (add_rules(&set, rules, error, error_size) != 0) {
        close(set.fd);
        return -1;
    }
    return set.fd;
}
