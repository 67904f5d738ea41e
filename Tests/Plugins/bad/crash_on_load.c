/* A plugin whose constructor crashes: it must not take the host down. */
#include <taskhost/plugin.h>

#include <signal.h>

__attribute__((constructor)) static void explode(void) { raise(SIGSEGV); }

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("exploding", "1.0.0", "crashes while loading", tasks)
