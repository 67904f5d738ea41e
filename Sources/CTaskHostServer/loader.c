/* Loading plugin files into the fork server (see th_loader.h). */
#include "th_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th_descendants.h"
#include "th_descriptor_check.h"
#include "th_elf.h"
#include "th_ipc.h"

/* ---- the loading phase ------------------------------------------------ */

/* The real stdout and stderr while the plugins' output goes to the host. */
static int saved_stdout = -1, saved_stderr = -1;

/* The host died while a plugin held this process (hanging in its entry, say):
 * nothing will ever read our socket again. Async-signal-safe. */
static void host_died(int signo) {
    (void)signo;
    th__kill_descendants();
    _exit(0);
}

void th__loading_begin(pid_t host, int output_fd) {
    /* While loading, a plugin can keep this process from watching its
     * socket; the kernel tells us instead when the host dies. (Only now: the
     * signal follows the host's spawning *thread*, which is blocked in the
     * load and may end later.) */
    signal(SIGTERM, host_died);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (host > 0 && getppid() != host) host_died(0); /* it died before we asked */

    /* What plugins print while loading is the host's to place (stderr, where
     * task output goes), once per file, never into its stdout. */
    if (fcntl(output_fd, F_GETFD) < 0) return;
    saved_stdout = fcntl(1, F_DUPFD_CLOEXEC, 3);
    saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
    dup2(output_fd, 1);
    dup2(output_fd, 2);
    close(output_fd);
}

void th__loading_end(void) {
    fflush(NULL);
    if (saved_stdout >= 0) {
        dup2(saved_stdout, 1);
        close(saved_stdout);
    }
    if (saved_stderr >= 0) {
        dup2(saved_stderr, 2);
        close(saved_stderr);
    }
    saved_stdout = saved_stderr = -1;
    prctl(PR_SET_PDEATHSIG, 0);
    signal(SIGTERM, SIG_DFL);
}

/* ---- one file ----------------------------------------------------------- */

static const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Reads what the file is before anything of it runs: a regular file (opened
 * without blocking, so a FIFO can't stall us), an ELF library for this
 * machine with the entry symbol. 0, or -1 with the reason. */
static int check_file(const char *path, char *error, size_t error_size) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(error, error_size, "it cannot be opened: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(error, error_size, "it cannot be read: %s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(error, error_size, "it is %s, not a regular file, so it is not a TaskHost plugin", file_kind(st.st_mode));
    } else {
        rc = th__elf_check(fd, TH_ENTRY_SYMBOL, error, error_size) == TH__ELF_OK ? 0 : -1;
    }
    close(fd);
    return rc;
}

static const th_plugin *open_plugin(const char *path, char *error, size_t error_size) {
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(error, error_size, "dlopen failed: %s", dlerror());
        return NULL;
    }
    th_entry_function entry = (th_entry_function)(void (*)(void))dlsym(handle, TH_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(error, error_size, "it has no entry symbol '%s', so it is not a TaskHost plugin", TH_ENTRY_SYMBOL);
        return NULL;
    }
    const th_plugin *plugin = entry();
    if (th__descriptor_check(plugin, error, error_size) != 0) return NULL;
    return plugin;
}

/* Prepares one call per task. 0, or -1 with the reason. */
static int prepare_calls(th__loaded_plugin *loaded, const th_plugin *plugin, char *error, size_t error_size) {
    loaded->calls = calloc(plugin->task_count ? plugin->task_count : 1, sizeof(th__call));
    if (!loaded->calls) {
        snprintf(error, error_size, "out of memory for its %u tasks", plugin->task_count);
        return -1;
    }
    for (uint32_t t = 0; t < plugin->task_count; t++) {
        if (th__call_prepare(&loaded->calls[t], th__plugin_task(plugin, t)) != 0) {
            snprintf(error, error_size, "task '%s' has a signature libffi cannot call", th__plugin_task(plugin, t)->name);
            return -1;
        }
    }
    return 0;
}

/* How many threads this process has (1 unless a plugin started one). */
static int thread_count(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (!status) return 1;
    char line[256];
    int threads = 1;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "Threads: %d", &threads) == 1) break;
    fclose(status);
    return threads;
}

/* ---- the LOAD request --------------------------------------------------- */

static int send_to_host(int socket_fd, th__buf *buf) {
    int rc = buf->failed ? -1 : th__send_frame(socket_fd, buf->data, buf->length, NULL, 0);
    th__buf_clear(buf);
    return rc;
}

int th__load_plugins(th__plugin_set *set, th__reader *request, int socket_fd) {
    th__msg_load load;
    if (th__msg_load_get(request, &load) != 0) return TH__LOAD_MALFORMED;
    set->plugins = calloc(load.count ? load.count : 1, sizeof(th__loaded_plugin));
    if (!set->plugins) return TH__LOAD_MALFORMED;
    set->count = load.count;
    th__buf out;
    th__buf_init(&out);
    int rc = TH__LOAD_DONE;
    for (uint32_t i = 0; i < load.count && rc == TH__LOAD_DONE; i++) {
        char *path = th__msg_load_get_path(request);
        if (!path) {
            rc = TH__LOAD_MALFORMED;
            break;
        }
        /* The checkpoint: if we die or hang from here on, the host knows the file. */
        th__msg_loading loading = {i};
        th__msg_loading_put(&out, &loading);
        if (send_to_host(socket_fd, &out) != 0) rc = TH__LOAD_HOST_GONE;

        char error[1200] = "";
        const th_plugin *plugin = NULL;
        if (rc == TH__LOAD_DONE && check_file(path, error, sizeof error) == 0) {
            plugin = open_plugin(path, error, sizeof error);
            if (plugin && prepare_calls(&set->plugins[i], plugin, error, sizeof error) != 0) plugin = NULL;
        }
        fflush(NULL); /* its output reaches the host before its verdict */
        pid_t child = th__any_child();
        if (child > 0) {
            snprintf(error, sizeof error, "it started a process (pid %d) while loading, which a plugin must not do",
                     (int)child);
            plugin = NULL;
            rc = TH__LOAD_MUST_RESTART;
        } else if (thread_count() > 1) {
            snprintf(error, sizeof error, "it started a thread while loading, which a plugin must not do (workers are forked)");
            plugin = NULL;
            rc = TH__LOAD_MUST_RESTART;
        }
        set->plugins[i].descriptor = plugin;

        th__msg_plugin verdict = {i, plugin != NULL, error, (uint32_t)strlen(error)};
        size_t start = th__msg_plugin_begin(&out, &verdict);
        if (plugin) th__msg_descriptor_put(&out, plugin);
        th__frame_end(&out, start);
        if (send_to_host(socket_fd, &out) != 0 && rc == TH__LOAD_DONE) rc = TH__LOAD_HOST_GONE;
        free(path);
    }
    if (rc == TH__LOAD_DONE) {
        th__msg_plugins end = {load.count};
        th__msg_plugins_put(&out, &end);
        if (send_to_host(socket_fd, &out) != 0) rc = TH__LOAD_HOST_GONE;
    }
    th__buf_free(&out);
    return rc;
}
