/* The C core of TaskHost, as the Swift library sees it. */
#ifndef CTASKHOST_H
#define CTASKHOST_H

#include "th_wire.h"
#include "th_protocol.h"
#include "th_table.h"
#include "th_system.h"
#include "th_forkserver.h"
#include "th_call.h"
#include "th_worker.h"

#endif /* CTASKHOST_H */
