/* Exposes the plugin ABI (include/taskhost/plugin.h) to Swift plugins. */
#ifndef TASKHOST_PLUGIN_SUPPORT_H
#define TASKHOST_PLUGIN_SUPPORT_H

#include "../../../include/taskhost/plugin.h"

#endif
