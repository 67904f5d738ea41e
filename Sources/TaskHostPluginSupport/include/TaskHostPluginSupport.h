/* Exposes the plugin ABI (include/taskhost/plugin.h) to Swift plugins. */
#ifndef TASKHOST_PLUGIN_SUPPORT_H
#define TASKHOST_PLUGIN_SUPPORT_H

#include "../../../include/taskhost/plugin.h"

/* A plugin's descriptor as the Swift plugin kit builds it (`PluginDescriptor`
 * there): the pointer its entry returns. A C type rather than a Swift one, so
 * that the kit defines no type of its own in the plugin: a plugin built with it
 * exports its entry and nothing else. Sendable: the descriptor is written once,
 * before any worker reads it, and never changes. */
typedef struct __attribute__((swift_attr("@Sendable"))) th_kit_plugin_descriptor {
    /** The descriptor, valid for the life of the process. */
    const th_plugin *pointer;
} th_kit_plugin_descriptor;

#endif
