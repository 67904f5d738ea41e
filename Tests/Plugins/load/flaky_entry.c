/* Its entry crashes every other time it is loaded: it counts its loads in
 * the file COUNTER (a -D of the build) and segfaults on the 1st, 3rd, ... */
#include <taskhost/plugin.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
static const th_plugin descriptor = {TH_ABI_MAJOR, sizeof(th_plugin), sizeof(th_task), 1, "flaky", "1.0.0",
                                     "crashes on every other load", tasks, NULL, NULL};

TH_EXPORT const th_plugin *taskhost_plugin_entry(void);
TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {
    int fd = open(COUNTER, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd >= 0) {
        off_t loads = lseek(fd, 0, SEEK_END);
        if (write(fd, "x", 1) != 1) loads = 1;
        close(fd);
        if (loads % 2 == 0) raise(SIGSEGV);
    }
    return &descriptor;
}
