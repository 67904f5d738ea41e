/*
 * th_table.h — checking a plugin's descriptor and sending its task table.
 *
 * The one implementation of descriptor validation. It runs in a throwaway
 * probe process (see forkserver.c), so a descriptor full of wild pointers
 * crashes the probe, not the fork server or the host.
 *
 * Serialized descriptor (inside TH_MSG_PLUGINS): str name, str version,
 * str summary, u32 task count, per task: str name, str summary, u8 result,
 * u32 flags, u32 param count, per param: str name, u8 type.
 */
#ifndef TH_TABLE_H
#define TH_TABLE_H

#include <stddef.h>

#include "th_wire.h"

/** The most parameters a task may declare. */
#define TH_MAX_PARAMS 32
/** The most tasks a plugin may declare. */
#define TH_MAX_TASKS 4096

/** The descriptor's i-th task, honouring the plugin's own th_task size. */
const th_task *th_plugin_task(const th_plugin *plugin, uint32_t index);

/** Checks everything the host relies on. Returns 0, or -1 with a message. */
int th_plugin_validate(const th_plugin *plugin, char *error, size_t error_size);

/** Appends the serialized descriptor (a validated one) to `buf`. */
void th_plugin_serialize(th_buf *buf, const th_plugin *plugin);

#endif /* TH_TABLE_H */
