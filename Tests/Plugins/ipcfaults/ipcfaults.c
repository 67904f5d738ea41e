/* Test-only tasks that die at the worst moments for shared objects. */
#include <taskhost/plugin.h>

#include <signal.h>
#include <time.h>

static th_shared *find(th_context *ctx, const char *name) {
    th_shared *object = th_shared_find(ctx, name);
    if (!object) th_set_errorf(ctx, "no shared object named '%s'", name);
    return object;
}

/* Takes the lock of `name` (a lock, rlock, condition, value or array) and dies holding it. */
static int64_t hold_and_die(th_context *ctx, const char *name) {
    th_shared *o = find(ctx, name);
    if (o && th_lock_acquire(o, -1) >= 0) raise(SIGKILL);
    return -100;
}

/* The status of taking the lock of `name` (released again when taken). */
static int64_t acquire_status(th_context *ctx, const char *name, double timeout) {
    th_shared *o = find(ctx, name);
    if (!o) return -100;
    int rc = th_lock_acquire(o, timeout);
    if (rc >= 0) th_lock_release(o);
    return rc;
}

/* Takes `units` of semaphore `name` and dies holding them. */
static int64_t take_and_die(th_context *ctx, const char *name, int64_t units) {
    th_shared *o = find(ctx, name);
    for (int64_t i = 0; o && i < units; i++)
        if (th_semaphore_acquire(o, -1) != TH_SHARED_OK) return -100;
    raise(SIGKILL);
    return -100;
}

/* Begins putting 42 into `queue`, writes half of it, and dies before the commit. */
static int64_t die_in_put(th_context *ctx, const char *queue) {
    th_shared *q = find(ctx, queue);
    th_queue_slot slot;
    if (q && th_queue_put_begin(q, TH_INT64, 8, &slot, -1) == TH_SHARED_OK) {
        ((unsigned char *)slot.data)[0] = 42;
        raise(SIGKILL);
    }
    return -100;
}

/* Takes the oldest item of `queue` in place and dies before freeing its slot. */
static int64_t die_in_get(th_context *ctx, const char *queue) {
    th_shared *q = find(ctx, queue);
    th_queue_slot slot;
    if (q && th_queue_get_begin(q, &slot, -1) == TH_SHARED_OK) raise(SIGKILL);
    return -100;
}

/* Waits at barrier `name`: the arrival index, or a negative status. */
static int64_t barrier_wait(th_context *ctx, const char *name, double timeout) {
    th_shared *o = find(ctx, name);
    return o ? th_barrier_wait(o, timeout) : -100;
}

/* Finds barrier `name` (which makes this process one of its parties), sets
 * event `ready`, then sleeps `seconds` without arriving: a party that is
 * late, to be killed. */
static int64_t join_and_nap(th_context *ctx, const char *name, const char *ready, double seconds) {
    th_shared *barrier = find(ctx, name), *event = barrier ? find(ctx, ready) : NULL;
    if (!event) return -100;
    th_event_set(event);
    struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&nap, &nap) != 0) {
    }
    return 0;
}

/* Takes the lock of `name`, sets event `ready`, and sleeps `seconds` holding it. */
static int64_t hold_and_nap(th_context *ctx, const char *name, const char *ready, double seconds) {
    th_shared *o = find(ctx, name), *event = o ? find(ctx, ready) : NULL;
    if (!event || th_lock_acquire(o, -1) < 0) return -100;
    th_event_set(event);
    struct timespec nap = {(time_t)seconds, 0};
    while (nanosleep(&nap, &nap) != 0) {
    }
    th_lock_release(o);
    return 0;
}

/* Takes a unit of semaphore `name`, waits for event `go`, and dies holding it. */
static int64_t take_wait_die(th_context *ctx, const char *name, const char *go) {
    th_shared *o = find(ctx, name), *event = o ? find(ctx, go) : NULL;
    if (!event || th_semaphore_acquire(o, 60) != TH_SHARED_OK || th_event_wait(event, 60) != TH_SHARED_OK) return -100;
    raise(SIGKILL);
    return -100;
}

static const th_param name_param[] = {{"name", TH_STRING}};
static const th_param name_event[] = {{"name", TH_STRING}, {"event", TH_STRING}};
static const th_param nap_params[] = {{"name", TH_STRING}, {"ready", TH_STRING}, {"seconds", TH_DOUBLE}};
static const th_param name_timeout[] = {{"name", TH_STRING}, {"timeout", TH_DOUBLE}};
static const th_param name_units[] = {{"name", TH_STRING}, {"units", TH_INT64}};

static const th_task tasks[] = {
    {.name = "hold_and_die", .function = TH_FN(hold_and_die), .result = TH_INT64, .params = name_param,
     .param_count = 1, .flags = TH_TASK_CONTEXT},
    {.name = "acquire_status", .function = TH_FN(acquire_status), .result = TH_INT64, .params = name_timeout,
     .param_count = 2, .flags = TH_TASK_CONTEXT},
    {.name = "take_and_die", .function = TH_FN(take_and_die), .result = TH_INT64, .params = name_units,
     .param_count = 2, .flags = TH_TASK_CONTEXT},
    {.name = "die_in_put", .function = TH_FN(die_in_put), .result = TH_INT64, .params = name_param,
     .param_count = 1, .flags = TH_TASK_CONTEXT},
    {.name = "die_in_get", .function = TH_FN(die_in_get), .result = TH_INT64, .params = name_param,
     .param_count = 1, .flags = TH_TASK_CONTEXT},
    {.name = "barrier_wait", .function = TH_FN(barrier_wait), .result = TH_INT64, .params = name_timeout,
     .param_count = 2, .flags = TH_TASK_CONTEXT},
    {.name = "join_and_nap", .function = TH_FN(join_and_nap), .result = TH_INT64, .params = nap_params,
     .param_count = 3, .flags = TH_TASK_CONTEXT},
    {.name = "hold_and_nap", .function = TH_FN(hold_and_nap), .result = TH_INT64, .params = nap_params,
     .param_count = 3, .flags = TH_TASK_CONTEXT},
    {.name = "take_wait_die", .function = TH_FN(take_wait_die), .result = TH_INT64, .params = name_event,
     .param_count = 2, .flags = TH_TASK_CONTEXT},
};

TH_EXPORT_PLUGIN("ipcfaults", "1.0.0", "Tasks that die holding shared objects (tests only)", tasks)
