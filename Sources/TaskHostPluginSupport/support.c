/* This target only carries the ABI header to Swift; SwiftPM wants one source.
 * Hidden: a plugin built with the kit exports its entry and nothing of ours. */
#include "TaskHostPluginSupport.h"

__attribute__((visibility("hidden"))) const int taskhost_plugin_support_abi = TH_ABI_MAJOR;
