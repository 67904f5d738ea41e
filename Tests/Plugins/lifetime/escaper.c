/* Tasks that start processes meant to outlive their worker. Each writes the
 * pids it left running, one per line, to the file `path`.
 *   escape(path)          a setsid()'d, double-forked grandchild
 *   spawn(count, path)    `count` children in the worker's process group */
#include <taskhost/plugin.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void note_pid(const char *path, pid_t pid) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) return;
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", (int)pid);
    if (write(fd, text, (size_t)n) != n) _exit(9);
    close(fd);
}

static int64_t escape(const char *path) {
    int ready[2];
    if (pipe(ready) != 0) return -1;
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() != 0) _exit(0);
        note_pid(path, getpid());
        close(ready[0]);
        close(ready[1]); /* written: the task may return */
        for (;;) pause();
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) > 0) {
    }
    close(ready[0]);
    return 0;
}

static int64_t spawn(int64_t count, const char *path) {
    for (int64_t i = 0; i < count; i++) {
        pid_t child = fork();
        if (child == 0) {
            for (;;) pause();
        }
        if (child > 0) note_pid(path, child);
    }
    return count;
}

static const th_param escape_params[] = {{"path", TH_STRING}};
static const th_param spawn_params[] = {{"count", TH_INT64}, {"path", TH_STRING}};
static const th_task tasks[] = {
    {.name = "escape", .function = TH_FN(escape), .result = TH_INT64, .params = escape_params, .param_count = 1},
    {.name = "spawn", .function = TH_FN(spawn), .result = TH_INT64, .params = spawn_params, .param_count = 2},
};
TH_EXPORT_PLUGIN("escaper", "1.0.0", "starts processes that try to outlive their worker", tasks)
