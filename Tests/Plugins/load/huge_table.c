/* A valid plugin at the documented maxima: 4096 tasks of 32 int64
 * parameters each, names of 100 characters, and a 220 KB summary. Every
 * task returns the sum of its arguments. Task i is named
 * "t<i>_xxx…" and its parameters "p<j>_xxx…", padded to 100 characters. */
#include <taskhost/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASKS 4096
#define PARAMS 32
#define NAME_LENGTH 100
#define SUMMARY_BYTES (220 * 1024)

#define P8(x) int64_t x##0, int64_t x##1, int64_t x##2, int64_t x##3, int64_t x##4, int64_t x##5, int64_t x##6, int64_t x##7
#define S8(x) (x##0 + x##1 + x##2 + x##3 + x##4 + x##5 + x##6 + x##7)
static int64_t sum(P8(a), P8(b), P8(c), P8(d)) { return S8(a) + S8(b) + S8(c) + S8(d); }

static char *padded(char prefix, int number) {
    char *name = malloc(NAME_LENGTH + 1);
    int n = snprintf(name, NAME_LENGTH + 1, "%c%d_", prefix, number);
    memset(name + n, 'x', (size_t)(NAME_LENGTH - n));
    name[NAME_LENGTH] = 0;
    return name;
}

TH_EXPORT const th_plugin *taskhost_plugin_entry(void);
TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {
    static th_plugin descriptor;
    th_param *params = calloc(PARAMS, sizeof(th_param));
    for (int p = 0; p < PARAMS; p++) params[p] = (th_param){padded('p', p), TH_INT64};
    th_task *tasks = calloc(TASKS, sizeof(th_task));
    for (int t = 0; t < TASKS; t++)
        tasks[t] = (th_task){.name = padded('t', t), .summary = "", .function = TH_FN(sum), .result = TH_INT64,
                             .params = params, .param_count = PARAMS};
    char *summary = malloc(SUMMARY_BYTES + 1);
    memset(summary, 's', SUMMARY_BYTES);
    summary[SUMMARY_BYTES] = 0;
    descriptor = (th_plugin){TH_ABI_MAJOR, sizeof(th_plugin), sizeof(th_task), TASKS, "huge", "1.0.0", summary, tasks,
                             NULL, NULL};
    return &descriptor;
}
