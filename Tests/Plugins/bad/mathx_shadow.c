/* A plugin named "square" whose square() cubes: it shadows the built-in one when given explicitly. */
#include <taskhost/plugin.h>

static int64_t cube(int64_t x) { return x * x * x; }
static const th_param params[] = {{"x", TH_INT64}};
static const th_task tasks[] = {{.name = "square", .function = TH_FN(cube), .result = TH_INT64, .params = params, .param_count = 1}};
TH_EXPORT_PLUGIN("square", "2.0.0", "an impostor", tasks)
