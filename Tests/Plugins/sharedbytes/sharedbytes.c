/*
 * sharedbytes — test-only tasks with TH_SHARED_BYTES parameters: they show
 * that a view of a shared buffer arrives in place (its address is inside
 * the worker's mapping of the buffer), with the bytes the host wrote, and
 * that what a task writes there the host sees.
 */
#include <taskhost/plugin.h>

#include <stdint.h>
#include <string.h>

/* How far `data` is from the start of this worker's mapping of buffer
 * `name` (found by name, independently of the argument); -1 when it is
 * not inside that mapping, as a copy would not be. */
static int64_t offset_in(th_context *ctx, void *data, size_t length, const char *name) {
    th_shared *buffer = th_shared_find(ctx, name);
    if (!buffer) {
        th_set_errorf(ctx, "no shared object named '%s'", name);
        return 0;
    }
    size_t size;
    uint8_t *start = th_shared_data(buffer, &size);
    uint8_t *at = data;
    if (at < start || at + length > start + size) return -1;
    return (int64_t)(at - start);
}

/* FNV-1a over every byte of the view. */
static uint64_t checksum(const void *data, size_t length) {
    const uint8_t *bytes = data;
    uint64_t hash = 14695981039346656037ull;
    for (size_t i = 0; i < length; i++) hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

/* Writes `byte` over the whole view; returns how many bytes it wrote. */
static uint64_t fill(void *data, size_t length, int64_t byte) {
    memset(data, (int)byte, length);
    return length;
}

static const th_param offset_params[] = {{"data", TH_SHARED_BYTES}, {"buffer", TH_STRING}};
static const th_param data_param[] = {{"data", TH_SHARED_BYTES}};
static const th_param fill_params[] = {{"data", TH_SHARED_BYTES}, {"byte", TH_INT64}};

static const th_task tasks[] = {
    {.name = "offset_in", .summary = "where the view starts in this worker's mapping of a buffer (-1: elsewhere)",
     .function = TH_FN(offset_in), .result = TH_INT64, .params = offset_params, .param_count = 2,
     .flags = TH_TASK_CONTEXT},
    {.name = "checksum", .summary = "FNV-1a of the view's bytes", .function = TH_FN(checksum), .result = TH_UINT64,
     .params = data_param, .param_count = 1},
    {.name = "fill", .summary = "write a byte over the whole view; the bytes written", .function = TH_FN(fill),
     .result = TH_UINT64, .params = fill_params, .param_count = 2},
};

TH_EXPORT_PLUGIN("sharedbytes", "1.0.0", "Views of shared buffers, in place", tasks)
