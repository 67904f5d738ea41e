/* A parameter of a type the ABI doesn't have. */
#include <taskhost/plugin.h>

static int64_t one(int64_t x) { return x; }
static const th_param params[] = {{"x", (th_type)42}};
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64, .params = params, .param_count = 1}};
TH_EXPORT_PLUGIN("badtype", "1.0.0", "unknown parameter type", tasks)
