/*
 * hangfini — a test-only plugin whose fini hook never returns, to test that
 * a pool's close and join still end (the worker is killed after the fini
 * grace). Built by the tests with cc; never shipped.
 */
#include <taskhost/plugin.h>

#include <unistd.h>

static int64_t echo(int64_t x) { return x; }

static void hang_forever(void) {
    for (;;) pause();
}

static const th_param x_param[] = {{"x", TH_INT64}};
static const th_task tasks[] = {
    {.name = "echo", .summary = "returns x", .function = TH_FN(echo), .result = TH_INT64,
     .params = x_param, .param_count = 1},
};
TH_EXPORT_PLUGIN_WITH_HOOKS("hangfini", "1.0.0", "A fini hook that never returns, for tests", tasks, NULL, hang_forever)
