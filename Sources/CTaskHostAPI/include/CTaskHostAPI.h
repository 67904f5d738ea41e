/*
 * The public C API's types, as the Swift implementation in
 * Sources/TaskHost/CAPI sees them. Relative, because header search paths
 * don't reach Swift importers.
 */
#ifndef CTASKHOSTAPI_H
#define CTASKHOSTAPI_H

#include "../../../include/taskhost/taskhost.h" /* include/taskhost/taskhost.h */

#endif /* CTASKHOSTAPI_H */
