/* Shared objects for synchronization and IPC, as the Swift library sees them. */
#ifndef CTASKHOSTSHARED_H
#define CTASKHOSTSHARED_H

#include "th_shared_core.h"

#endif /* CTASKHOSTSHARED_H */
