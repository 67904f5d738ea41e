/* Behaves wherever its stdout is /dev/null (where an old load probe ran it)
 * and exits everywhere else: a probe that succeeds proves little. */
#include <taskhost/plugin.h>

#include <stdlib.h>
#include <sys/stat.h>

__attribute__((constructor)) static void only_in_the_server(void) {
    struct stat out, null;
    if (fstat(1, &out) == 0 && stat("/dev/null", &null) == 0 && out.st_rdev == null.st_rdev && S_ISCHR(out.st_mode))
        return;
    exit(0);
}

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("sly", "1.0.0", "exits only outside a probe", tasks)
