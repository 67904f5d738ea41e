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

#endif /* CTASKHOSTAPI_H */
