/*
 * ipc — tasks that talk to each other and to the host through shared
 * objects (include/taskhost/shared.h): the demo's producer and consumer, a
 * shared counter under its lock, and the tasks `taskhost bench` times.
 * The producer, consumer and counter are plugin.h's example.
 */
#include <taskhost/plugin.h>

#include <stdio.h>

/* The object named `name` of `kind`, or NULL with the item failed. */
static th_shared *find(th_context *ctx, const char *name, th_shared_kind kind) {
    th_shared *object = th_shared_find(ctx, name);
    if (!object) th_set_errorf(ctx, "no shared object named '%s' (create it before the workers start)", name);
    else if (th_shared_kind_of(object) != kind) th_set_errorf(ctx, "shared object '%s' is not of the kind this task needs", name);
    else return object;
    return NULL;
}

static int failed(th_context *ctx, const char *what, const char *name, int status) {
    th_set_errorf(ctx, "%s on '%s' failed with status %d", what, name, status);
    return 1;
}

/* ---- the demo: producer -> queue "jobs" -> consumer ------------------ */

#define DEMO_ITEMS 1000

/* Puts 1 .. 1000 into the queue "jobs", then 0 to say it is done. */
static int64_t producer(th_context *ctx) {
    th_shared *jobs = find(ctx, "jobs", TH_SHARED_QUEUE);
    if (!jobs) return 0;
    for (int64_t i = 1; i <= DEMO_ITEMS; i++)
        if (th_queue_put_int64(jobs, i, -1) != TH_SHARED_OK) return failed(ctx, "put", "jobs", -1);
    /* Said before the 0 goes in, so it prints before the consumer's line. */
    printf("producer: put %d items into 'jobs'\n", DEMO_ITEMS);
    fflush(stdout);
    th_queue_put_int64(jobs, 0, -1);
    return DEMO_ITEMS;
}

/* Takes items from "jobs" until the 0, which it puts back for any other
 * consumer; returns their sum. */
static int64_t consumer(th_context *ctx) {
    th_shared *jobs = find(ctx, "jobs", TH_SHARED_QUEUE);
    if (!jobs) return 0;
    int64_t sum = 0, count = 0, item;
    for (;;) {
        int rc = th_queue_get_int64(jobs, &item, -1);
        if (rc != TH_SHARED_OK) return failed(ctx, "get", "jobs", rc);
        if (item == 0) break;
        sum += item;
        count++;
    }
    th_queue_put_int64(jobs, 0, -1);
    printf("consumer: got %lld items from 'jobs', sum %lld\n", (long long)count, (long long)sum);
    fflush(stdout);
    return sum;
}

/* Adds 1 to the shared value "counter" `times` times, each under the
 * value's lock (a read, then a write: the lock is what makes it exact). */
static int64_t count_up(th_context *ctx, int64_t times) {
    th_shared *counter = find(ctx, "counter", TH_SHARED_VALUE);
    if (!counter) return 0;
    for (int64_t i = 0; i < times; i++) {
        th_lock_acquire(counter, -1); /* TH_SHARED_OWNER_DIED: a holder died; the value is still whole */
        th_value_store_int64(counter, th_value_load_int64(counter) + 1);
        th_lock_release(counter);
    }
    return times;
}

/* ---- tasks with the objects' names as arguments ----------------------- */

/* Puts start .. start+count-1 into `queue`; returns their sum. */
static int64_t put_range(th_context *ctx, const char *queue, int64_t start, int64_t count) {
    th_shared *q = find(ctx, queue, TH_SHARED_QUEUE);
    int64_t sum = 0;
    for (int64_t i = start; q && i < start + count; i++) {
        int rc = th_queue_put_int64(q, i, -1);
        if (rc != TH_SHARED_OK) return failed(ctx, "put", queue, rc);
        sum += i;
    }
    return sum;
}

/* Takes `count` int64 items from `queue`; returns their sum. */
static int64_t take_sum(th_context *ctx, const char *queue, int64_t count) {
    th_shared *q = find(ctx, queue, TH_SHARED_QUEUE);
    int64_t sum = 0, item;
    for (int64_t i = 0; q && i < count; i++) {
        int rc = th_queue_get_int64(q, &item, -1);
        if (rc != TH_SHARED_OK) return failed(ctx, "get", queue, rc);
        sum += item;
    }
    return sum;
}

/* Adds 1 to `value` `times` times under its lock; returns `times`. */
static int64_t locked_add(th_context *ctx, const char *value, int64_t times) {
    th_shared *v = find(ctx, value, TH_SHARED_VALUE);
    for (int64_t i = 0; v && i < times; i++) {
        th_lock_acquire(v, -1);
        th_value_store_int64(v, th_value_load_int64(v) + 1);
        th_lock_release(v);
    }
    return times;
}

/* Sends back at end 1 of `pipe` each of the next `count` items end 0 sends. */
static int64_t echo(th_context *ctx, const char *pipe, int64_t count) {
    th_shared *p = find(ctx, pipe, TH_SHARED_PIPE);
    unsigned char item[256];
    for (int64_t i = 0; p && i < count; i++) {
        uint32_t type;
        size_t length;
        int rc = th_pipe_recv(p, 1, &type, item, sizeof item, &length, -1);
        if (rc == TH_SHARED_OK) rc = th_pipe_send(p, 1, type, item, length, -1);
        if (rc != TH_SHARED_OK) return failed(ctx, "echo", pipe, rc);
    }
    return count;
}

/* `count` times: waits for event `ping`, clears it, sets event `pong`. */
static int64_t pong(th_context *ctx, const char *ping, const char *pong_name, int64_t count) {
    th_shared *a = find(ctx, ping, TH_SHARED_EVENT);
    th_shared *b = a ? find(ctx, pong_name, TH_SHARED_EVENT) : NULL;
    for (int64_t i = 0; b && i < count; i++) {
        int rc = th_event_wait(a, -1);
        if (rc != TH_SHARED_OK) return failed(ctx, "wait", ping, rc);
        th_event_clear(a);
        th_event_set(b);
    }
    return count;
}

/* Reads part `index` of `parts` of buffer `name` in place (no copy): the
 * sum of one byte per 4 KiB page. */
static uint64_t view_sum(th_context *ctx, const char *name, int64_t index, int64_t parts) {
    th_shared *buffer = find(ctx, name, TH_SHARED_BUFFER);
    if (!buffer) return 0;
    size_t length;
    const unsigned char *bytes = th_shared_data(buffer, &length);
    if (parts < 1 || index < 0 || index >= parts) {
        th_set_errorf(ctx, "view %lld of %lld does not exist", (long long)index, (long long)parts);
        return 0;
    }
    size_t size = length / (size_t)parts, start = size * (size_t)index;
    uint64_t sum = 0;
    for (size_t at = start; at < start + size; at += 4096) sum += bytes[at];
    return sum;
}

/* Sums one byte per 4 KiB page of a view of a shared buffer, which arrives
 * in place (TH_SHARED_BYTES: a pointer into this worker's mapping, no copy). */
static uint64_t bytes_sum(const void *data, size_t length) {
    const unsigned char *bytes = data;
    uint64_t sum = 0;
    for (size_t at = 0; at < length; at += 4096) sum += bytes[at];
    return sum;
}

static const th_param count_up_params[] = {{"times", TH_INT64}};
static const th_param put_range_params[] = {{"queue", TH_STRING}, {"start", TH_INT64}, {"count", TH_INT64}};
static const th_param take_sum_params[] = {{"queue", TH_STRING}, {"count", TH_INT64}};
static const th_param locked_add_params[] = {{"value", TH_STRING}, {"times", TH_INT64}};
static const th_param echo_params[] = {{"pipe", TH_STRING}, {"count", TH_INT64}};
static const th_param pong_params[] = {{"ping", TH_STRING}, {"pong", TH_STRING}, {"count", TH_INT64}};
static const th_param view_params[] = {{"buffer", TH_STRING}, {"index", TH_INT64}, {"parts", TH_INT64}};
static const th_param bytes_params[] = {{"data", TH_SHARED_BYTES}};

#define CTX_TASK(NAME, SUMMARY, RESULT, PARAMS, COUNT) \
    {.name = #NAME, .summary = SUMMARY, .function = TH_FN(NAME), .result = RESULT, .params = PARAMS, \
     .param_count = COUNT, .flags = TH_TASK_CONTEXT}

static const th_task tasks[] = {
    CTX_TASK(producer, "put 1..1000 then 0 into the shared queue 'jobs'", TH_INT64, NULL, 0),
    CTX_TASK(consumer, "sum the shared queue 'jobs' up to its 0", TH_INT64, NULL, 0),
    CTX_TASK(count_up, "add 1 to the shared value 'counter' `times` times under its lock", TH_INT64, count_up_params, 1),
    CTX_TASK(put_range, "put start..start+count-1 into a shared queue; their sum", TH_INT64, put_range_params, 3),
    CTX_TASK(take_sum, "take count items from a shared queue; their sum", TH_INT64, take_sum_params, 2),
    CTX_TASK(locked_add, "add 1 to a shared value `times` times under its lock", TH_INT64, locked_add_params, 2),
    CTX_TASK(echo, "send back at a pipe's end 1 what its end 0 sends, count times", TH_INT64, echo_params, 2),
    CTX_TASK(pong, "count times: wait for event ping, clear it, set event pong", TH_INT64, pong_params, 3),
    CTX_TASK(view_sum, "sum one byte per page of view index/parts of a shared buffer", TH_UINT64, view_params, 3),
    {.name = "bytes_sum", .summary = "sum one byte per page of a view of a shared buffer, read in place",
     .function = TH_FN(bytes_sum), .result = TH_UINT64, .params = bytes_params, .param_count = 1},
};

TH_EXPORT_PLUGIN("ipc", "1.0.0", "Tasks that share queues, locks and memory with each other and the host", tasks)
