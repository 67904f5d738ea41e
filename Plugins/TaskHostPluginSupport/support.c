/* This target only carries the ABI header to Swift; SwiftPM wants one source. */
#include "TaskHostPluginSupport.h"

const int taskhost_plugin_support_abi = TH_ABI_MAJOR;
