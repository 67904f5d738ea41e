/* A task that declares a shared-bytes result: TH_SHARED_BYTES is for parameters only. */
#include <taskhost/plugin.h>

static void view(void) {}
static const th_task tasks[] = {{.name = "view", .function = TH_FN(view), .result = TH_SHARED_BYTES}};
TH_EXPORT_PLUGIN("sharedresult", "1.0.0", "a shared-bytes result", tasks)
