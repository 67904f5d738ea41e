/*
 * th_descriptor_check.h — checking a plugin's descriptor and writing its
 * task table into TH_MSG_PLUGINS.
 *
 * The one implementation of descriptor validation. It runs where a
 * descriptor full of wild pointers can crash only a child of the fork server
 * (see loader.c), never the server or the host.
 *
 * Serialized descriptor (inside TH_MSG_PLUGINS): str name, str version,
 * str summary, u32 task count, per task: str name, str summary, u8 result,
 * u32 flags, u32 param count, per param: str name, u8 type.
 */
#ifndef TH_DESCRIPTOR_CHECK_H
#define TH_DESCRIPTOR_CHECK_H

#include <stddef.h>

#include "th_protocol.h"
#include "th_wire.h"

TH__INTERNAL_BEGIN

/** The descriptor's i-th task, honouring the plugin's own th_task size. */
const th_task *th__plugin_task(const th_plugin *plugin, uint32_t index);

/** Checks everything the host relies on. Returns 0, or -1 with a message. */
int th__descriptor_check(const th_plugin *plugin, char *error, size_t error_size);

/** Appends the serialized descriptor (a checked one) to `buf`. */
void th__descriptor_put(th__buf *buf, const th_plugin *plugin);

TH__INTERNAL_END

#endif /* TH_DESCRIPTOR_CHECK_H */
