/*
 * th_descriptor_check.h — checking a plugin's descriptor (its task table).
 *
 * The one implementation of descriptor validation. It runs in the fork
 * server while it loads, where a descriptor full of wild pointers crashes
 * only that server: the host names the file and starts a new one without it
 * (th_loader.h). How a checked descriptor travels to the host:
 * th__msg_descriptor_put (th_protocol.h).
 */
#ifndef TH_DESCRIPTOR_CHECK_H
#define TH_DESCRIPTOR_CHECK_H

#include <stddef.h>

#include "th_protocol.h"
#include "th_wire.h"

TH__INTERNAL_BEGIN

/** Checks everything the host relies on. Returns 0, or -1 with a message. */
int th__descriptor_check(const th_plugin *plugin, char *error, size_t error_size);

TH__INTERNAL_END

#endif /* TH_DESCRIPTOR_CHECK_H */
