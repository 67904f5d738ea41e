/*
 * The public C API's types, as the Swift implementation in
 * Sources/TaskHost/CAPI sees them. Relative paths, because header search
 * paths don't reach Swift importers.
 *
 * plugin.h comes through CTaskHost (which includes it too): one module owns
 * its declarations, so Swift files that import only CTaskHost still see
 * th_type and TH_INT64 when both modules are loaded.
 */
#ifndef CTASKHOSTAPI_H
#define CTASKHOSTAPI_H

#include "../../CTaskHost/include/CTaskHost.h"
#include "../../../include/taskhost/taskhost.h" /* include/taskhost/taskhost.h */

TH__INTERNAL_BEGIN

/** A kind's name from TH_ERROR_KINDS ("crashed"); "ok" for TH_OK, "unknown" otherwise. Static storage. */
const char *th__error_kind_text(int kind);

/** The highest kind number in TH_ERROR_KINDS. */
int th__error_kind_last(void);

TH__INTERNAL_END

#endif /* CTASKHOSTAPI_H */
