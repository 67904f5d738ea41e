/* Its constructor starts a thread that keeps running: a forking parent must
 * have one thread, so the host refuses it. */
#include <taskhost/plugin.h>

#include <pthread.h>
#include <unistd.h>

static void *idle(void *unused) {
    (void)unused;
    for (;;) pause();
    return NULL;
}

__attribute__((constructor)) static void start(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
}

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("threader", "1.0.0", "starts a thread while loading", tasks)
