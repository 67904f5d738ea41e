/* A plugin descriptor from a future major ABI version. */
#include <taskhost/plugin.h>

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};

TH_EXTERN_C TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {
    static const th_plugin descriptor = {TH_ABI_MAJOR + 1, sizeof(th_plugin), sizeof(th_task), 1,
                                         "future", "9.0.0", "from the future", tasks, NULL, NULL};
    return &descriptor;
}
