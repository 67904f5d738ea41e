/* The error kinds' names, from their one list (TH_ERROR_KINDS, taskhost.h). */
#include "CTaskHostAPI.h"

const char *th__error_kind_text(int kind) {
    switch (kind) {
    case TH_OK: return "ok";
#define TH__KIND_CASE(SUFFIX, NUMBER, NAME) \
    case NUMBER: return NAME;
        TH_ERROR_KINDS(TH__KIND_CASE)
#undef TH__KIND_CASE
    default: return "unknown";
    }
}

int th__error_kind_last(void) {
    int last = 0;
#define TH__KIND_MAX(SUFFIX, NUMBER, NAME) last = NUMBER > last ? NUMBER : last;
    TH_ERROR_KINDS(TH__KIND_MAX)
#undef TH__KIND_MAX
    return last;
}
