/* Its constructor starts a process that keeps running: a child, or with
 * -DDETACHED a setsid()'d grandchild whose parent exits at once. The pid of
 * the process left running is written to the file PIDFILE (a -D of the
 * build). With -DTHEN_HANG the constructor then never returns. */
#include <taskhost/plugin.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void note_pid(void) {
    int fd = open(PIDFILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return;
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
    if (write(fd, text, (size_t)n) != n) _exit(9);
    close(fd);
}

__attribute__((constructor)) static void spawn(void) {
    int noted[2];
    if (pipe(noted) != 0) return;
    pid_t child = fork();
    if (child != 0) {
        /* Back only once the process left running has noted its pid. */
        close(noted[1]);
        char byte;
        while (read(noted[0], &byte, 1) > 0) {
        }
        close(noted[0]);
#ifdef THEN_HANG
        for (;;) pause();
#endif
        return;
    }
#ifdef DETACHED
    setsid();
    if (fork() != 0) _exit(0);
#endif
    note_pid();
    close(noted[0]);
    close(noted[1]);
    for (;;) pause();
}

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("spawner", "1.0.0", "leaves a process running while loading", tasks)
