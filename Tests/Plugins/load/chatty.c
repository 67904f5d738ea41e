/* A valid plugin whose constructor prints to stdout and stderr (without a
 * newline on stdout, so it sits in stdio's buffer). */
#include <taskhost/plugin.h>

#include <stdio.h>

__attribute__((constructor)) static void greet(void) {
    printf("chatty constructor on stdout");
    fprintf(stderr, "chatty constructor on stderr\n");
}

static int64_t one(void) { return 1; }
static const th_task tasks[] = {{.name = "one", .function = TH_FN(one), .result = TH_INT64}};
TH_EXPORT_PLUGIN("chatty", "1.0.0", "prints while loading", tasks)
