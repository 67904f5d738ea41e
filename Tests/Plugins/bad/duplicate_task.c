/* Two tasks with the same name. */
#include <taskhost/plugin.h>

static int64_t one(void) { return 1; }
static const th_task tasks[] = {
    {.name = "one", .function = TH_FN(one), .result = TH_INT64},
    {.name = "one", .function = TH_FN(one), .result = TH_INT64},
};
TH_EXPORT_PLUGIN("dupes", "1.0.0", "declares a task twice", tasks)
