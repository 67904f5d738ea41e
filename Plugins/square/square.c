/* The seed's Pool example: square(number) -> number ** 2. */
#include <taskhost/plugin.h>

static int64_t square(int64_t number) { return number * number; }

static const th_param square_params[] = {{"x", TH_INT64}};
static const th_task tasks[] = {
    {.name = "square", .summary = "x squared", .function = TH_FN(square), .result = TH_INT64,
     .params = square_params, .param_count = 1},
};
TH_EXPORT_PLUGIN("square", "1.0.0", "The seed's square(x) for Pool.map", tasks)
