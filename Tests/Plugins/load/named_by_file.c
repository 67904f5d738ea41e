/* A plugin named after its own file (p07.so is plugin "p07"), with 40 tasks
 * t0..t39 that return their index: one build, copied under many names. */
#include <taskhost/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define TASKS 40

#define T(i) static int64_t t##i(void) { return i; }
#define T10(d) T(d##0) T(d##1) T(d##2) T(d##3) T(d##4) T(d##5) T(d##6) T(d##7) T(d##8) T(d##9)
T(0) T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) T(9) T10(1) T10(2) T10(3)
static int64_t (*const functions[TASKS])(void) = {
    t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19,
    t20, t21, t22, t23, t24, t25, t26, t27, t28, t29, t30, t31, t32, t33, t34, t35, t36, t37, t38, t39};

TH_EXPORT const th_plugin *taskhost_plugin_entry(void);
TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {
    static char name[64];
    static char names[TASKS][8];
    static th_task tasks[TASKS];
    static th_plugin descriptor;
    Dl_info self;
    if (!dladdr((void *)taskhost_plugin_entry, &self)) return NULL;
    const char *base = strrchr(self.dli_fname, '/');
    base = base ? base + 1 : self.dli_fname;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
    for (int i = 0; i < TASKS; i++) {
        snprintf(names[i], sizeof names[i], "t%d", i);
        tasks[i] = (th_task){.name = names[i], .function = TH_FN(functions[i]), .result = TH_INT64};
    }
    descriptor = (th_plugin){TH_ABI_MAJOR, sizeof(th_plugin), sizeof(th_task), TASKS, name, "1.0.0", "", tasks, NULL, NULL};
    return &descriptor;
}
