#include <taskhost/plugin.h>
#include <stdint.h>

static int64_t cube(int64_t x) { return x * x * x; }
static double scale(double x, int64_t k) { return x * (double)k; }

static const th_param cube_params[]  = { { "x", TH_INT64 } };
static const th_param scale_params[] = { { "x", TH_DOUBLE }, { "k", TH_INT64 } };
static const th_task tasks[] = {
    { .name = "cube",  .summary = "x cubed",   .function = TH_FN(cube),
      .result = TH_INT64,  .params = cube_params,  .param_count = 1 },
    { .name = "scale", .summary = "x times k", .function = TH_FN(scale),
      .result = TH_DOUBLE, .params = scale_params, .param_count = 2 },
};
TH_EXPORT_PLUGIN("mathx", "1.0.0", "Small math tasks", tasks)
