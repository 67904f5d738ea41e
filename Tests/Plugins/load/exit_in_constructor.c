/* Exits while loading, from a constructor: with exit(CODE), or _exit(CODE)
 * when built with -DRAW_EXIT. The host must refuse it and load the rest. */
#include <taskhost/plugin.h>

#include <stdlib.h>
#include <unistd.h>

#ifndef CODE
#define CODE 0
#endif

__attribute__((constructor)) static void leave(void) {
#ifdef RAW_EXIT
    _exit(CODE);
#else
    exit(CODE);
#endif
}

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("leaver", "1.0.0", "exits in its constructor", tasks)
