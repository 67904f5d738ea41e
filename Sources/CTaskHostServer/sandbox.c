/* Preparing and entering the sandbox (see th_sandbox.h). */
#include "th_sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

/* Rulesets kept by the fork server: a pool's workers share their rules, and
 * building a ruleset (opening every library the process maps) costs more
 * than the rest of a worker's start. An entry is reused only while each of
 * its paths is still the same file (a folder deleted and made again is
 * another inode, which the old rule would not cover). */
#define KEPT_RULESETS 8

typedef struct kept_ruleset {
    int fd;
    char *key; /* the paths, each NUL-terminated, read ones then write ones; NULL: an empty slot */
    size_t key_length;
    uint32_t read_count;
    struct stat *identities; /* per path, dev and ino when it was opened (st_nlink 0: missing) */
    uint32_t path_count;
    uint64_t last_used;
} kept_ruleset;

static kept_ruleset g_kept[KEPT_RULESETS];
static uint64_t g_clock;

static void forget(kept_ruleset *k) {
    if (k->key) close(k->fd);
    free(k->key);
    free(k->identities);
    memset(k, 0, sizeof *k);
}

void th__sandbox_forget_prepared(void) {
    for (int i = 0; i < KEPT_RULESETS; i++) forget(&g_kept[i]);
}

static const char *path_at(const th__sandbox_rules *rules, uint32_t i) {
    return i < rules->read_count ? rules->read_paths[i] : rules->write_paths[i - rules->read_count];
}

/* The rules as one byte string, for comparison. NULL when out of memory. */
static char *rules_key(const th__sandbox_rules *rules, size_t *length) {
    uint32_t count = rules->read_count + rules->write_count;
    size_t total = 0;
    for (uint32_t i = 0; i < count; i++) total += strlen(path_at(rules, i)) + 1;
    char *key = malloc(total ? total : 1);
    if (!key) return NULL;
    size_t at = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t n = strlen(path_at(rules, i)) + 1;
        memcpy(key + at, path_at(rules, i), n);
        at += n;
    }
    *length = total;
    return key;
}

static void identify(const char *path, struct stat *identity) {
    if (stat(path, identity) != 0) memset(identity, 0, sizeof *identity);
}

static int same_files(const kept_ruleset *k, const th__sandbox_rules *rules) {
    for (uint32_t i = 0; i < k->path_count; i++) {
        struct stat now;
        identify(path_at(rules, i), &now);
        if (now.st_dev != k->identities[i].st_dev || now.st_ino != k->identities[i].st_ino) return 0;
    }
    return 1;
}

static kept_ruleset *find_kept(const th__sandbox_rules *rules, const char *key, size_t key_length) {
    for (int i = 0; i < KEPT_RULESETS; i++) {
        kept_ruleset *k = &g_kept[i];
        if (!k->key || k->key_length != key_length || k->read_count != rules->read_count ||
            memcmp(k->key, key, key_length) != 0)
            continue;
        if (same_files(k, rules)) return k;
        forget(k);
    }
    return NULL;
}

static kept_ruleset *oldest_slot(void) {
    kept_ruleset *oldest = &g_kept[0];
    for (int i = 0; i < KEPT_RULESETS; i++) {
        if (!g_kept[i].key) return &g_kept[i];
        if (g_kept[i].last_used < oldest->last_used) oldest = &g_kept[i];
    }
    forget(oldest);
    return oldest;
}

int th__sandbox_prepare(const th__sandbox_rules *rules, th__sandbox_prepared *prepared, char *error,
                       size_t error_size) {
    if (th__sandbox_build_filter(error, error_size) != 0) return -1;
    size_t key_length = 0;
    char *key = rules_key(rules, &key_length);
    uint32_t count = rules->read_count + rules->write_count;
    struct stat *identities = calloc(count ? count : 1, sizeof *identities);
    if (!key || !identities) {
        free(key);
        free(identities);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    kept_ruleset *k = find_kept(rules, key, key_length);
    if (k) {
        free(key);
        free(identities);
    } else {
        /* Identities first: a path replaced while the ruleset is built is
         * then seen as changed next time, never the reverse. */
        for (uint32_t i = 0; i < count; i++) identify(path_at(rules, i), &identities[i]);
        int fd = th__sandbox_build_ruleset(rules, error, error_size);
        if (fd < 0) {
            free(key);
            free(identities);
            return -1;
        }
        k = oldest_slot();
        *k = (kept_ruleset){.fd = fd, .key = key, .key_length = key_length, .read_count = rules->read_count,
                            .identities = identities, .path_count = count};
    }
    k->last_used = ++g_clock;
    prepared->ruleset_fd = k->fd;
    return 0;
}

/* ---- spawn requests ---------------------------------------------------- */

void th__sandbox_request_free(th__sandbox_request *request) {
    for (uint32_t i = 0; i < request->rules.read_count; i++) free((char *)request->rules.read_paths[i]);
    for (uint32_t i = 0; i < request->rules.write_count; i++) free((char *)request->rules.write_paths[i]);
    free((void *)request->rules.read_paths);
    free((void *)request->rules.write_paths);
    memset(&request->rules, 0, sizeof request->rules);
}

static int read_paths(th__reader *r, const char *const **paths, uint32_t *count) {
    uint32_t n = th__get_u32(r);
    if (r->failed || n > (r->length - r->position) / 4) return -1; /* each path takes at least 4 bytes */
    const char **list = calloc(n ? n : 1, sizeof *list);
    if (!list) return -1;
    *paths = list;
    for (*count = 0; *count < n; (*count)++) {
        char *path = th__get_str_dup(r);
        if (!path || r->failed) {
            free(path);
            return -1;
        }
        list[*count] = path;
    }
    return 0;
}

int th__sandbox_request_read(th__reader *r, th__sandbox_request *request) {
    memset(request, 0, sizeof *request);
    request->sandboxed = th__get_u8(r);
    if (r->failed || read_paths(r, &request->rules.read_paths, &request->rules.read_count) != 0 ||
        read_paths(r, &request->rules.write_paths, &request->rules.write_count) != 0) {
        th__sandbox_request_free(request);
        return -1;
    }
    return 0;
}

/* ---- entering ---------------------------------------------------------- */

int th__sandbox_enter(const th__sandbox_prepared *prepared, th__worker_page *page, char *error, size_t error_size) {
    /* First: neither Landlock nor an unprivileged seccomp filter may be
     * entered without it, and no setuid program could shed them anyway. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(error, error_size, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    if (syscall(SYS_landlock_restrict_self, prepared->ruleset_fd, 0) != 0) {
        snprintf(error, error_size, "cannot enter the Landlock ruleset: %s", strerror(errno));
        return -1;
    }
    return th__sandbox_load_filter(page, error, error_size);
}
