/* Loading plugin files into the fork server (see th_loader.h). */
#include "th_loader.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "th_descriptor_check.h"
#include "th_elf.h"

static const th_plugin *open_plugin(const char *path, void **handle, char *error, size_t error_size) {
    *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*handle) {
        snprintf(error, error_size, "dlopen failed: %s", dlerror());
        return NULL;
    }
    th_entry_function entry = (th_entry_function)(void (*)(void))dlsym(*handle, TH_ENTRY_SYMBOL);
    if (!entry) {
        snprintf(error, error_size, "it has no entry symbol '%s', so it is not a TaskHost plugin", TH_ENTRY_SYMBOL);
        return NULL;
    }
    const th_plugin *plugin = entry();
    if (th__descriptor_check(plugin, error, error_size) != 0) return NULL;
    return plugin;
}

/* Loads and checks the plugin in a throwaway child first, so a constructor
 * or a descriptor that crashes takes down the probe, not this server.
 * Returns 0, or -1 with the reason. */
static int probe_plugin(const char *path, char *error, size_t error_size) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        snprintf(error, error_size, "cannot be probed: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        snprintf(error, error_size, "cannot be probed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) dup2(null_fd, 1); /* a chatty constructor must not pollute stdout twice */
        void *handle;
        char message[1024] = "";
        int ok = open_plugin(path, &handle, message, sizeof message) != NULL;
        if (!ok && write(pipe_fds[1], message, strlen(message)) < 0) _exit(2);
        _exit(ok ? 0 : 1);
    }
    close(pipe_fds[1]);
    char message[1024];
    size_t length = 0;
    for (;;) {
        ssize_t n = read(pipe_fds[0], message + length, sizeof message - 1 - length);
        if (n > 0) {
            length += (size_t)n;
            if (length == sizeof message - 1) break;
        } else if (!(n < 0 && errno == EINTR)) {
            break;
        }
    }
    close(pipe_fds[0]);
    message[length] = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        snprintf(error, error_size, "it crashed while loading (%s)", strsignal(WTERMSIG(status)));
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(error, error_size, "%s", length ? message : "it exited while loading");
        return -1;
    }
    return 0;
}

int th__load_plugins(th__plugin_set *set, th__reader *r, th__buf *reply) {
    uint32_t count = th__get_u32(r);
    if (r->failed || count > 100000) return -1;
    set->plugins = calloc(count ? count : 1, sizeof(th__loaded_plugin));
    set->count = count;
    size_t start = th__frame_begin(reply, TH_MSG_PLUGINS);
    th__buf_put_u32(reply, count);
    for (uint32_t i = 0; i < count; i++) {
        char *path = th__get_str_dup(r);
        if (!path || r->failed) return -1;
        char error[1200];
        const th_plugin *plugin = NULL;
        int exported = th__elf_exports(path, TH_ENTRY_SYMBOL);
        if (exported < 0) {
            snprintf(error, sizeof error, "it cannot be read: %s", strerror(errno));
        } else if (exported == 0) {
            snprintf(error, sizeof error, "it has no entry symbol '%s', so it is not a TaskHost plugin",
                     TH_ENTRY_SYMBOL);
        } else if (probe_plugin(path, error, sizeof error) == 0) {
            void *handle;
            plugin = open_plugin(path, &handle, error, sizeof error);
        }
        th__loaded_plugin *loaded = &set->plugins[i];
        if (plugin) {
            loaded->calls = calloc(plugin->task_count ? plugin->task_count : 1, sizeof(th__call));
            for (uint32_t t = 0; plugin && t < plugin->task_count; t++) {
                if (th__call_prepare(&loaded->calls[t], th__plugin_task(plugin, t)) != 0) {
                    snprintf(error, sizeof error, "task '%s' has a signature libffi cannot call",
                             th__plugin_task(plugin, t)->name);
                    plugin = NULL;
                }
            }
        }
        loaded->descriptor = plugin;
        th__buf_put_u8(reply, plugin ? 1 : 0);
        if (plugin) th__descriptor_put(reply, plugin);
        else th__buf_put_str(reply, error);
        free(path);
    }
    th__frame_end(reply, start);
    return 0;
}
