/* Descriptor checks (see th_descriptor_check.h). */
#include "th_descriptor_check.h"

#include <stdio.h>
#include <string.h>

/* The th_plugin and th_task sizes of ABI 1.0; later minor versions only grow. */
#define TH_PLUGIN_SIZE_V1 sizeof(th_plugin)
#define TH_TASK_SIZE_V1 sizeof(th_task)

static int is_identifier(const char *s) {
    if (!s || !*s) return 0;
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_')) return 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok || n >= 128) return 0;
    }
    return 1;
}

static int is_type(uint32_t type) { return type <= TH_BYTES; }
/* A parameter may also be a view of a shared buffer (never a result). */
static int is_param_type(uint32_t type) { return is_type(type) || type == TH_SHARED_BYTES; }

int th__descriptor_check(const th_plugin *plugin, char *error, size_t error_size) {
    if (!plugin) {
        snprintf(error, error_size, "its entry function returned NULL");
        return -1;
    }
    if (plugin->abi_major != TH_ABI_MAJOR) {
        snprintf(error, error_size, "it was built for plugin ABI version %u, but this host speaks version %u",
                 plugin->abi_major, TH_ABI_MAJOR);
        return -1;
    }
    if (plugin->size < TH_PLUGIN_SIZE_V1 || plugin->task_size < TH_TASK_SIZE_V1) {
        snprintf(error, error_size, "its descriptor is too small (size %u, task size %u) for ABI version %u",
                 plugin->size, plugin->task_size, TH_ABI_MAJOR);
        return -1;
    }
    if (!is_identifier(plugin->name)) {
        snprintf(error, error_size, "its descriptor's name is missing or not an identifier");
        return -1;
    }
    if (!plugin->version) {
        snprintf(error, error_size, "plugin '%s' has no version", plugin->name);
        return -1;
    }
    if (plugin->task_count > TH_MAX_TASKS) {
        snprintf(error, error_size, "plugin '%s' declares %u tasks (at most %d)", plugin->name, plugin->task_count,
                 TH_MAX_TASKS);
        return -1;
    }
    if (plugin->task_count > 0 && !plugin->tasks) {
        snprintf(error, error_size, "plugin '%s' declares %u tasks but its tasks table is NULL", plugin->name,
                 plugin->task_count);
        return -1;
    }
    for (uint32_t i = 0; i < plugin->task_count; i++) {
        const th_task *task = th__plugin_task(plugin, i);
        if (!is_identifier(task->name)) {
            snprintf(error, error_size, "plugin '%s': task %u has a missing or invalid name", plugin->name, i);
            return -1;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(th__plugin_task(plugin, j)->name, task->name) == 0) {
                snprintf(error, error_size, "plugin '%s' declares task '%s' twice", plugin->name, task->name);
                return -1;
            }
        }
        if (!task->function) {
            snprintf(error, error_size, "plugin '%s': task '%s' has no function", plugin->name, task->name);
            return -1;
        }
        if (task->result == TH_SHARED_BYTES) {
            snprintf(error, error_size,
                     "plugin '%s': task '%s' returns shared bytes, which only a parameter can be (write into a "
                     "TH_SHARED_BYTES parameter instead)", plugin->name, task->name);
            return -1;
        }
        if (!is_type((uint32_t)task->result)) {
            snprintf(error, error_size, "plugin '%s': task '%s' has an unknown result type %d", plugin->name,
                     task->name, (int)task->result);
            return -1;
        }
        if (task->flags & ~TH_TASK_CONTEXT) {
            snprintf(error, error_size, "plugin '%s': task '%s' has unknown flags 0x%x", plugin->name, task->name,
                     task->flags);
            return -1;
        }
        if (task->result == TH_BYTES && !(task->flags & TH_TASK_CONTEXT)) {
            snprintf(error, error_size, "plugin '%s': task '%s' returns bytes, which needs TH_TASK_CONTEXT",
                     plugin->name, task->name);
            return -1;
        }
        if (task->param_count > TH_MAX_PARAMS) {
            snprintf(error, error_size, "plugin '%s': task '%s' declares %u parameters (at most %d)", plugin->name,
                     task->name, task->param_count, TH_MAX_PARAMS);
            return -1;
        }
        if (task->param_count > 0 && !task->params) {
            snprintf(error, error_size, "plugin '%s': task '%s' declares %u parameters but its params table is NULL",
                     plugin->name, task->name, task->param_count);
            return -1;
        }
        for (uint32_t p = 0; p < task->param_count; p++) {
            const th_param *param = &task->params[p];
            if (!is_identifier(param->name)) {
                snprintf(error, error_size, "plugin '%s': task '%s': parameter %u has a missing or invalid name",
                         plugin->name, task->name, p);
                return -1;
            }
            if (!is_param_type((uint32_t)param->type) || param->type == TH_VOID) {
                snprintf(error, error_size, "plugin '%s': task '%s': parameter '%s' has an unknown type %d",
                         plugin->name, task->name, param->name, (int)param->type);
                return -1;
            }
        }
    }
    return 0;
}
