/*
 * serverkill — a test-only plugin whose task kills the worker's parent, the
 * fork server (kill(getppid(), SIGKILL)), to test that the host names the
 * real cause for the other workers' items and starts a new fork server.
 * Built by the tests with cc; never shipped.
 */
#include <taskhost/plugin.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

/* Kills the fork server, then waits for its own end (the worker dies with it). */
static int64_t kill_server(int64_t x) {
    kill(getppid(), SIGKILL);
    struct timespec pause = {2, 0};
    nanosleep(&pause, NULL);
    return x;
}

/* Sleeps x milliseconds and returns x. */
static int64_t nap(int64_t x) {
    struct timespec pause = {(time_t)(x / 1000), (long)(x % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    return x;
}

static const th_param x_param[] = {{"x", TH_INT64}};
static const th_task tasks[] = {
    {.name = "kill_server", .summary = "SIGKILLs the fork server", .function = TH_FN(kill_server), .result = TH_INT64,
     .params = x_param, .param_count = 1},
    {.name = "nap", .summary = "sleeps x milliseconds", .function = TH_FN(nap), .result = TH_INT64,
     .params = x_param, .param_count = 1},
};
TH_EXPORT_PLUGIN("serverkill", "1.0.0", "Kills its fork server, for tests", tasks)
