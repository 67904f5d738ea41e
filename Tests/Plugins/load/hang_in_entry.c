/* Its entry never returns. */
#include <taskhost/plugin.h>

#include <unistd.h>

TH_EXPORT const th_plugin *taskhost_plugin_entry(void);
TH_EXPORT const th_plugin *taskhost_plugin_entry(void) {
    for (;;) pause();
}
