/*
 * Atomic output: the file appears whole or not at all. An O_TMPFILE file
 * has no name until linkat() gives it one at the very end, so a worker
 * killed mid-write leaves nothing behind. Where the filesystem lacks
 * O_TMPFILE, a hidden temporary in the same folder is renamed into place.
 */
#include "if_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int if_make_folders(const char *folder) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s", folder) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int write_all(int fd, const if_bytes *bytes) {
    size_t done = 0;
    while (done < bytes->length) {
        ssize_t n = write(fd, bytes->data + done, bytes->length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

int if_write_atomically(const char *path, const if_bytes *bytes, const char *input_path, char *err, size_t err_size) {
    char folder[PATH_MAX];
    snprintf(folder, sizeof folder, "%s", path);
    char *slash = strrchr(folder, '/');
    if (slash == folder) folder[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(folder, sizeof folder, ".");
    if (if_make_folders(folder) != 0) {
        snprintf(err, err_size, "cannot create the output folder '%s': %s", folder, strerror(errno));
        return -1;
    }
    if (input_path) {
        char a[PATH_MAX], b[PATH_MAX];
        if (realpath(input_path, a) && realpath(path, b) && strcmp(a, b) == 0) {
            snprintf(err, err_size, "%s: refusing to overwrite the input image", path);
            return -1;
        }
    }
    int fd = open(folder, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        fchmod(fd, 0644);
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (write_all(fd, bytes) != 0) {
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        /* Usually the name is free: link the finished file straight in, so a
         * worker killed at any moment leaves no temporary behind. linkat
         * never replaces a name, so an existing output is replaced through a
         * temporary link renamed over it. */
        if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
            close(fd);
            return 0;
        }
        /* Taken before unlink() below overwrites errno (it used to, so an
         * existing output was written a second time through mkostemp). */
        int exists = errno == EEXIST;
        char temp[PATH_MAX + 64];
        snprintf(temp, sizeof temp, "%s/.taskhost-%d-%ld.tmp", folder, (int)getpid(), (long)fd);
        unlink(temp);
        if (exists && linkat(AT_FDCWD, proc, AT_FDCWD, temp, AT_SYMLINK_FOLLOW) == 0) {
            close(fd);
            if (rename(temp, path) != 0) {
                snprintf(err, err_size, "%s: %s", path, strerror(errno));
                unlink(temp);
                return -1;
            }
            return 0;
        }
        close(fd);
    }
    /* No O_TMPFILE here: a named temporary, renamed into place. */
    char temp[PATH_MAX + 64];
    snprintf(temp, sizeof temp, "%s/.taskhost-%d-XXXXXX", folder, (int)getpid());
    fd = mkostemp(temp, O_CLOEXEC); /* unique, so threads of one process don't share it */
    if (fd >= 0) fchmod(fd, 0644);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (write_all(fd, bytes) != 0 || close(fd) != 0 || rename(temp, path) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        unlink(temp);
        return -1;
    }
    return 0;
}
