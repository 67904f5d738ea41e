/* Each message's layout, written once (see th_protocol.h). */
#include "th_protocol.h"

#include <stdlib.h>

const char *th__message_name(uint8_t type) {
    switch (type) {
#define TH__MESSAGE_CASE(NAME, NUMBER, TEXT) \
    case NUMBER: return TEXT;
        TH__MESSAGE_TYPES(TH__MESSAGE_CASE)
#undef TH__MESSAGE_CASE
    default: return "unknown";
    }
}

/* A string of a body: pointer into it and length. */
static void get_str(th__reader *r, const char **text, uint32_t *length) { *text = th__get_str(r, length); }

void th__msg_settings_put(th__buf *buf, const th__msg_settings *m) {
    size_t start = th__frame_begin(buf, TH_MSG_SETTINGS);
    th__buf_put_u64(buf, m->memory_limit);
    th__buf_put_u8(buf, m->task_output);
    th__frame_end(buf, start);
}

int th__msg_settings_get(th__reader *r, th__msg_settings *m) {
    m->memory_limit = th__get_u64(r);
    m->task_output = th__get_u8(r);
    return r->failed ? -1 : 0;
}

size_t th__msg_run_begin(th__buf *buf, uint8_t type, const th__msg_run *m) {
    size_t start = th__frame_begin(buf, type);
    th__buf_put_u32(buf, m->plugin);
    th__buf_put_u32(buf, m->task);
    th__buf_put_u32(buf, m->count);
    return start;
}

int th__msg_run_get(th__reader *r, th__msg_run *m) {
    m->plugin = th__get_u32(r);
    m->task = th__get_u32(r);
    m->count = th__get_u32(r);
    return r->failed ? -1 : 0;
}

size_t th__msg_results_begin(th__buf *buf) {
    size_t start = th__frame_begin(buf, TH_MSG_RESULTS);
    th__buf_put_u32(buf, 0);
    return start;
}

void th__msg_result_put_value(th__buf *buf, const th__wire_value *value) {
    th__buf_put_u8(buf, TH_ITEM_OK);
    th__put_value(buf, value);
}

void th__msg_result_put_error(th__buf *buf, const char *message) {
    th__buf_put_u8(buf, TH_ITEM_ERROR);
    th__buf_put_str(buf, message);
}

void th__msg_results_finish(th__buf *buf, size_t start, uint32_t count) {
    th__buf_set_u32(buf, start + TH_FRAME_HEADER_SIZE, count);
    th__frame_end(buf, start);
}

int th__msg_results_get(th__reader *r, th__msg_results *m) {
    m->count = th__get_u32(r);
    return r->failed ? -1 : 0;
}

int th__msg_result_get(th__reader *r, th__msg_result *m) {
    uint8_t status = th__get_u8(r);
    m->error = "";
    m->error_length = 0;
    if (status == TH_ITEM_OK) {
        m->ok = 1;
        return th__get_value(r, &m->value) != 0 || r->failed ? -1 : 0;
    }
    if (status != TH_ITEM_ERROR) return -1;
    m->ok = 0;
    get_str(r, &m->error, &m->error_length);
    return r->failed ? -1 : 0;
}

size_t th__msg_packed_results_begin(th__buf *buf) {
    size_t start = th__frame_begin(buf, TH_MSG_PACKED_RESULTS);
    th__buf_put_u32(buf, 0);
    th__buf_put_u32(buf, 0);
    return start;
}

void th__msg_packed_results_finish(th__buf *buf, size_t start, uint32_t count, const th__buf *errors,
                                   uint32_t error_count) {
    th__buf_put(buf, errors->data, errors->length);
    if (errors->failed) buf->failed = 1;
    th__buf_set_u32(buf, start + TH_FRAME_HEADER_SIZE, count);
    th__buf_set_u32(buf, start + TH_FRAME_HEADER_SIZE + 4, error_count);
    th__frame_end(buf, start);
}

void th__msg_packed_error_put(th__buf *errors, uint32_t position, const char *message) {
    th__buf_put_u32(errors, position);
    th__buf_put_str(errors, message);
}

int th__msg_packed_results_get(th__reader *r, uint32_t width, th__msg_packed_results *m) {
    m->count = th__get_u32(r);
    m->error_count = th__get_u32(r);
    m->payloads = NULL;
    if (r->failed || m->error_count > m->count) return -1;
    size_t bytes = (size_t)m->count * width;
    if (r->length - r->position < bytes) return -1;
    m->payloads = r->data + r->position;
    r->position += bytes;
    return 0;
}

int th__msg_packed_error_get(th__reader *r, th__msg_packed_error *m) {
    m->position = th__get_u32(r);
    get_str(r, &m->message, &m->message_length);
    return r->failed ? -1 : 0;
}

void th__msg_load_put(th__buf *buf, const th__msg_load *m) {
    size_t start = th__frame_begin(buf, TH_MSG_LOAD);
    th__buf_put_u32(buf, m->count);
    for (uint32_t i = 0; i < m->count; i++) th__buf_put_str(buf, m->paths[i]);
    th__frame_end(buf, start);
}

int th__msg_load_get(th__reader *r, th__msg_load *m) {
    m->count = th__get_u32(r);
    m->paths = NULL;
    /* Each path takes at least its 4-byte length: a count the body can't hold is malformed. */
    if (r->failed || m->count > (r->length - r->position) / 4) return -1;
    return 0;
}

char *th__msg_load_get_path(th__reader *r) {
    char *path = th__get_str_dup(r);
    if (r->failed) {
        free(path);
        return NULL;
    }
    return path;
}

void th__msg_loading_put(th__buf *buf, const th__msg_loading *m) {
    size_t start = th__frame_begin(buf, TH_MSG_LOADING);
    th__buf_put_u32(buf, m->index);
    th__frame_end(buf, start);
}

int th__msg_loading_get(th__reader *r, th__msg_loading *m) {
    m->index = th__get_u32(r);
    return r->failed ? -1 : 0;
}

size_t th__msg_plugin_begin(th__buf *buf, const th__msg_plugin *m) {
    size_t start = th__frame_begin(buf, TH_MSG_PLUGIN);
    th__buf_put_u32(buf, m->index);
    th__buf_put_u8(buf, m->loaded ? 1 : 0);
    if (!m->loaded) {
        th__buf_put_u32(buf, m->error_length);
        th__buf_put(buf, m->error, m->error_length);
    }
    return start;
}

int th__msg_plugin_get(th__reader *r, th__msg_plugin *m) {
    m->index = th__get_u32(r);
    m->loaded = th__get_u8(r);
    m->error = "";
    m->error_length = 0;
    if (m->loaded > 1) return -1;
    if (!m->loaded) get_str(r, &m->error, &m->error_length);
    return r->failed ? -1 : 0;
}

const th_task *th__plugin_task(const th_plugin *plugin, uint32_t index) {
    return (const th_task *)((const char *)plugin->tasks + (size_t)index * plugin->task_size);
}

void th__msg_descriptor_put(th__buf *buf, const th_plugin *plugin) {
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

int th__msg_descriptor_get(th__reader *r, th__msg_descriptor *m) {
    get_str(r, &m->name, &m->name_length);
    get_str(r, &m->version, &m->version_length);
    get_str(r, &m->summary, &m->summary_length);
    m->task_count = th__get_u32(r);
    return r->failed || m->task_count > TH_MAX_TASKS ? -1 : 0;
}

int th__msg_task_get(th__reader *r, th__msg_task *m) {
    get_str(r, &m->name, &m->name_length);
    get_str(r, &m->summary, &m->summary_length);
    m->result = th__get_u8(r);
    m->flags = th__get_u32(r);
    m->param_count = th__get_u32(r);
    return r->failed || m->result > TH_BYTES || m->param_count > TH_MAX_PARAMS ? -1 : 0;
}

int th__msg_param_get(th__reader *r, th__msg_param *m) {
    get_str(r, &m->name, &m->name_length);
    m->type = th__get_u8(r);
    return r->failed || m->type > TH_SHARED_BYTES ? -1 : 0;
}

void th__msg_plugins_put(th__buf *buf, const th__msg_plugins *m) {
    size_t start = th__frame_begin(buf, TH_MSG_PLUGINS);
    th__buf_put_u32(buf, m->count);
    th__frame_end(buf, start);
}

int th__msg_plugins_get(th__reader *r, th__msg_plugins *m) {
    m->count = th__get_u32(r);
    return r->failed ? -1 : 0;
}

size_t th__msg_spawn_begin(th__buf *buf, const th__msg_spawn *m) {
    size_t start = th__frame_begin(buf, TH_MSG_SPAWN);
    th__buf_put_u32(buf, m->request);
    th__buf_put_u64(buf, m->memory_limit);
    th__buf_put_u8(buf, m->task_output);
    th__buf_put_u8(buf, m->bare);
    return start;
}

void th__msg_spawn_put_first(th__buf *buf, const uint8_t *first, uint32_t length) {
    th__buf_put_u32(buf, length);
    th__buf_put(buf, first, length);
}

int th__msg_spawn_get(th__reader *r, th__msg_spawn *m) {
    m->request = th__get_u32(r);
    m->memory_limit = th__get_u64(r);
    m->task_output = th__get_u8(r);
    m->bare = th__get_u8(r);
    return r->failed || m->task_output > TH_OUTPUT_STDOUT || m->bare > 1 ? -1 : 0;
}

int th__msg_spawn_get_first(th__reader *r, const uint8_t **first, uint32_t *length) {
    const char *bytes;
    get_str(r, &bytes, length);
    *first = (const uint8_t *)bytes;
    return r->failed ? -1 : 0;
}

void th__msg_spawned_put(th__buf *buf, const th__msg_spawned *m) {
    size_t start = th__frame_begin(buf, TH_MSG_SPAWNED);
    th__buf_put_u32(buf, m->request);
    th__buf_put_u32(buf, (uint32_t)m->pid);
    th__buf_put_u32(buf, m->error_length);
    th__buf_put(buf, m->error, m->error_length);
    th__frame_end(buf, start);
}

int th__msg_spawned_get(th__reader *r, th__msg_spawned *m) {
    m->request = th__get_u32(r);
    m->pid = (int32_t)th__get_u32(r);
    get_str(r, &m->error, &m->error_length);
    return r->failed || m->pid < 0 ? -1 : 0;
}

void th__msg_kill_put(th__buf *buf, const th__msg_kill *m) {
    size_t start = th__frame_begin(buf, TH_MSG_KILL);
    th__buf_put_u32(buf, (uint32_t)m->pid);
    th__frame_end(buf, start);
}

int th__msg_kill_get(th__reader *r, th__msg_kill *m) {
    m->pid = (int32_t)th__get_u32(r);
    return r->failed || m->pid <= 0 ? -1 : 0;
}

void th__msg_share_put(th__buf *buf, int type, const th__msg_share *m) {
    size_t start = th__frame_begin(buf, (uint8_t)type);
    th__buf_put_u32(buf, m->id);
    th__frame_end(buf, start);
}

int th__msg_share_get(th__reader *r, th__msg_share *m) {
    m->id = th__get_u32(r);
    return r->failed || m->id == 0 ? -1 : 0;
}

void th__msg_exited_put(th__buf *buf, const th__msg_exited *m) {
    size_t start = th__frame_begin(buf, TH_MSG_EXITED);
    th__buf_put_u32(buf, (uint32_t)m->pid);
    th__buf_put_u32(buf, (uint32_t)m->status);
    th__frame_end(buf, start);
}

int th__msg_exited_get(th__reader *r, th__msg_exited *m) {
    m->pid = (int32_t)th__get_u32(r);
    m->status = (int32_t)th__get_u32(r);
    return r->failed || m->pid <= 0 ? -1 : 0;
}
