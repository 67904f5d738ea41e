/* The seed's Pool example: square(number) -> number ** 2. Python's integers
   don't overflow; an int64 does, so a square that doesn't fit fails its item
   (taskError) instead of wrapping around to a wrong number. */
#include <taskhost/plugin.h>

static int64_t square(th_context *ctx, int64_t number) {
    int64_t result;
    if (__builtin_mul_overflow(number, number, &result)) {
        th_set_errorf(ctx, "%lld squared overflows int64", (long long)number);
        return 0;
    }
    return result;
}

static const th_param square_params[] = {{"x", TH_INT64}};
static const th_task tasks[] = {
    {.name = "square", .summary = "x squared (an error when it overflows int64)", .function = TH_FN(square),
     .result = TH_INT64, .params = square_params, .param_count = 1, .flags = TH_TASK_CONTEXT},
};
TH_EXPORT_PLUGIN("square", "1.0.0", "The seed's square(x) for Pool.map", tasks)
