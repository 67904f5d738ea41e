/* Descriptor checks and serialization (see th_descriptor_check.h). */
#include "th_descriptor_check.h"

#include <stdio.h>
#include <string.h>

/* The th_plugin and th_task sizes of ABI 1.0; later minor versions only grow. */
#define TH_PLUGIN_SIZE_V1 sizeof(th_plugin)
#define TH_TASK_SIZE_V1 sizeof(th_task)

const th_task *th__plugin_task(const th_plugin *plugin, uint32_t index) {
    return (const th_task *)((const char *)plugin->tasks + (size_t)index * plugin->task_size);
}

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
    if (plugin->task_count > TH_MAX_TASKS || (plugin->task_count > 0 && !plugin->tasks)) {
        snprintf(error, error_size, "plugin '%s' has a bad task table (%u tasks)", plugin->name, plugin->task_count);
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
        if (task->param_count > TH_MAX_PARAMS || (task->param_count > 0 && !task->params)) {
            snprintf(error, error_size, "plugin '%s': task '%s' declares %u parameters (at most %d)", plugin->name,
                     task->name, task->param_count, TH_MAX_PARAMS);
            return -1;
        }
        for (uint32_t p = 0; p < task->param_count; p++) {
            const th_param *param = &task->params[p];
            if (!is_identifier(param->name)) {
                snprintf(error, error_size, "plugin '%s': task '%s': parameter %u has a missing or invalid name",
                         plugin->name, task->name, p);
                return -1;
            }
            if (!is_type((uint32_t)param->type) || param->type == TH_VOID) {
                snprintf(error, error_size, "plugin '%s': task '%s': parameter '%s' has an unknown type %d",
                         plugin->name, task->name, param->name, (int)param->type);
                return -1;
            }
        }
    }
    return 0;
}

void th__descriptor_put(th__buf *buf, const th_plugin *plugin) {
    th__buf_put_str(buf, plugin->name);
    th__buf_put_str(buf, plugin->version);
    th__buf_put_str(buf, plugin->summary);
    th__buf_put_u32(buf, plugin->task_count);
    for (uint32_t i = 0; i < plugin->task_count; i++) {
        const th_task *task = th__plugin_task(plugin, i);
        th__buf_put_str(buf, task->name);
        th__buf_put_str(buf, task->summary);
        th__buf_put_u8(buf, (uint8_t)task->result);
        th__buf_put_u32(buf, task->flags);
        th__buf_put_u32(buf, task->param_count);
        for (uint32_t p = 0; p < task->param_count; p++) {
            th__buf_put_str(buf, task->params[p].name);
            th__buf_put_u8(buf, (uint8_t)task->params[p].type);
        }
    }
}
