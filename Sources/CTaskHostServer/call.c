/* libffi calls of plugin tasks (see th_call.h). */
#include "th_call.h"
#include "th_protocol.h"
#include "th_shared_core.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum { SHAPE_FFI = 0, SHAPE_I64_I64, SHAPE_F64_F64, SHAPE_VOID_VOID, SHAPE_I64_I64_I64, SHAPE_CTX_I64_I64 };

static ffi_type *ffi_type_of(th_type type) {
    switch (type) {
    case TH_VOID: return &ffi_type_void;
    case TH_BOOL: return &ffi_type_uint8;
    case TH_INT32: return &ffi_type_sint32;
    case TH_INT64: return &ffi_type_sint64;
    case TH_UINT64: return &ffi_type_uint64;
    case TH_DOUBLE: return &ffi_type_double;
    case TH_STRING: return &ffi_type_pointer;
    case TH_BYTES: return &ffi_type_pointer;
    case TH_SHARED_BYTES: return &ffi_type_pointer;
    }
    return &ffi_type_void;
}

uint8_t th__call_wire_type(th_type type) { return type == TH_SHARED_BYTES ? TH_STRING : (uint8_t)type; }

static int direct_shape(const th_task *task) {
    const th_param *p = task->params;
    if (task->flags & TH_TASK_CONTEXT) {
        /* (context, int64) -> int64: a checked integer task such as square. Its
           packed loop stops at an item that fails (th__call_packed_checked). */
        if (task->param_count == 1 && task->result == TH_INT64 && p[0].type == TH_INT64) return SHAPE_CTX_I64_I64;
        return SHAPE_FFI;
    }
    if (task->param_count == 1 && task->result == TH_INT64 && p[0].type == TH_INT64) return SHAPE_I64_I64;
    if (task->param_count == 1 && task->result == TH_DOUBLE && p[0].type == TH_DOUBLE) return SHAPE_F64_F64;
    if (task->param_count == 0 && task->result == TH_VOID) return SHAPE_VOID_VOID;
    if (task->param_count == 2 && task->result == TH_INT64 && p[0].type == TH_INT64 && p[1].type == TH_INT64)
        return SHAPE_I64_I64_I64;
    return SHAPE_FFI;
}

int th__call_prepare(th__call *call, const th_task *task) {
    memset(call, 0, sizeof *call);
    call->task = task;
    unsigned n = 0;
    if (task->flags & TH_TASK_CONTEXT) call->types[n++] = &ffi_type_pointer;
    for (uint32_t i = 0; i < task->param_count; i++) {
        call->types[n++] = ffi_type_of(task->params[i].type);
        th_type type = task->params[i].type;
        if (type == TH_BYTES || type == TH_SHARED_BYTES) call->types[n++] = &ffi_type_uint64; /* size_t length */
    }
    call->arg_count = n;
    ffi_type *result = task->result == TH_BYTES ? &ffi_type_void : ffi_type_of(task->result);
    if (ffi_prep_cif(&call->cif, FFI_DEFAULT_ABI, n, result, call->types) != FFI_OK) return -1;
    call->shape = direct_shape(task);
    return 0;
}

static bool call_direct(const th__call *call, const th__wire_value *args, th_context *context, th__wire_value *result) {
    th_function f = call->task->function;
    switch (call->shape) {
    case SHAPE_CTX_I64_I64:
        result->u.i64 = ((int64_t (*)(th_context *, int64_t))(void (*)(void))f)(context, args[0].u.i64);
        return true;
    case SHAPE_I64_I64:
        result->u.i64 = ((int64_t (*)(int64_t))(void (*)(void))f)(args[0].u.i64);
        return true;
    case SHAPE_F64_F64:
        result->u.f64 = ((double (*)(double))(void (*)(void))f)(args[0].u.f64);
        return true;
    case SHAPE_VOID_VOID:
        ((void (*)(void))f)();
        return true;
    case SHAPE_I64_I64_I64:
        result->u.i64 = ((int64_t (*)(int64_t, int64_t))(void (*)(void))f)(args[0].u.i64, args[1].u.i64);
        return true;
    default: return false;
    }
}

/* Each packed loop: load the arguments, count, call, store, count. */
#define PACKED_LOOP(CALL, RESULT_TYPE)                                                                      \
    for (uint32_t i = first; i < first + count; i++) {                                                   \
        th__page_count(started);                                                                         \
        RESULT_TYPE r = CALL;                                                                            \
        memcpy(results, &r, sizeof r);                                                                   \
        results += sizeof r;                                                                             \
        th__page_count(finished);                                                                        \
    }

static inline int64_t load_i64(const uint8_t *column, uint32_t i) {
    int64_t v;
    memcpy(&v, column + 8 * (size_t)i, 8);
    return v;
}

static inline double load_f64(const uint8_t *column, uint32_t i) {
    double v;
    memcpy(&v, column + 8 * (size_t)i, 8);
    return v;
}

int th__call_packed(const th__call *call, const uint8_t *const *columns, uint32_t first, uint32_t count,
                   uint8_t *results, volatile uint64_t *started, volatile uint64_t *finished) {
    th_function f = call->task->function;
    switch (call->shape) {
    case SHAPE_I64_I64: {
        int64_t (*fn)(int64_t) = (int64_t (*)(int64_t))(void (*)(void))f;
        PACKED_LOOP(fn(load_i64(columns[0], i)), int64_t)
        return 1;
    }
    case SHAPE_F64_F64: {
        double (*fn)(double) = (double (*)(double))(void (*)(void))f;
        PACKED_LOOP(fn(load_f64(columns[0], i)), double)
        return 1;
    }
    case SHAPE_I64_I64_I64: {
        int64_t (*fn)(int64_t, int64_t) = (int64_t (*)(int64_t, int64_t))(void (*)(void))f;
        PACKED_LOOP(fn(load_i64(columns[0], i), load_i64(columns[1], i)), int64_t)
        return 1;
    }
    case SHAPE_VOID_VOID:
        for (uint32_t i = 0; i < count; i++) {
            th__page_count(started);
            ((void (*)(void))f)();
            th__page_count(finished);
        }
        return 1;
    default: return 0;
    }
}

int64_t th__call_packed_checked(const th__call *call, const uint8_t *const *columns, uint32_t first, uint32_t count,
                                uint8_t *results, th_context *context, char *const *error, volatile uint64_t *started,
                                volatile uint64_t *finished) {
    if (call->shape != SHAPE_CTX_I64_I64) return -1;
    int64_t (*fn)(th_context *, int64_t) = (int64_t (*)(th_context *, int64_t))(void (*)(void))call->task->function;
    for (uint32_t i = 0; i < count; i++) {
        th__page_count(started);
        int64_t r = fn(context, load_i64(columns[0], first + i));
        th__page_count(finished);
        if (*error) return i;
        memcpy(results + 8 * (size_t)i, &r, 8);
    }
    return count;
}

void th__call_invoke(const th__call *call, const th__wire_value *args, th_context *context, th__wire_value *result,
                    char **owned) {
    const th_task *task = call->task;
    memset(result, 0, sizeof *result);
    result->type = (uint8_t)task->result;
    *owned = NULL;
    if (call_direct(call, args, context, result)) return;

    /* Storage for each C argument; libffi takes pointers to it. */
    union slot {
        uint8_t u8;
        int32_t i32;
        int64_t i64;
        uint64_t u64;
        double f64;
        const void *ptr;
    } slots[2 * TH_MAX_PARAMS + 1];
    void *values[2 * TH_MAX_PARAMS + 1];
    unsigned n = 0;
    if (task->flags & TH_TASK_CONTEXT) {
        slots[n].ptr = context;
        values[n] = &slots[n];
        n++;
    }
    for (uint32_t i = 0; i < task->param_count; i++) {
        const th__wire_value *a = &args[i];
        switch (task->params[i].type) {
        case TH_BOOL: slots[n].u8 = a->u.b ? 1 : 0; break;
        case TH_INT32: slots[n].i32 = a->u.i32; break;
        case TH_INT64: slots[n].i64 = a->u.i64; break;
        case TH_UINT64: slots[n].u64 = a->u.u64; break;
        case TH_DOUBLE: slots[n].f64 = a->u.f64; break;
        case TH_STRING: slots[n].ptr = a->u.bytes.data ? (const void *)a->u.bytes.data : ""; break;
        case TH_BYTES:
            slots[n].ptr = a->u.bytes.data;
            values[n] = &slots[n];
            n++;
            slots[n].u64 = a->u.bytes.length;
            break;
        case TH_SHARED_BYTES: {
            /* The view's text (NUL-terminated on the wire) names bytes this
             * process maps: the task gets them in place. */
            void *data;
            size_t length;
            char reason[256];
            if (th__shared_resolve_view((const char *)a->u.bytes.data, &data, &length, reason, sizeof reason) != 0) {
                char message[400];
                snprintf(message, sizeof message, "parameter '%s': %s", task->params[i].name, reason);
                context->api->set_error(context, message);
                return;
            }
            slots[n].ptr = data;
            values[n] = &slots[n];
            n++;
            slots[n].u64 = length;
            break;
        }
        default: break;
        }
        values[n] = &slots[n];
        n++;
    }

    /* Integer results come back widened to a full register (ffi_arg). */
    union {
        ffi_arg word;
        ffi_sarg sword;
        int64_t i64;
        uint64_t u64;
        double f64;
        void *ptr;
    } ret;
    memset(&ret, 0, sizeof ret);
    ffi_call((ffi_cif *)&call->cif, FFI_FN(task->function), &ret, values);
    switch (task->result) {
    case TH_BOOL: result->u.b = (ret.word & 0xff) != 0; break;
    case TH_INT32: result->u.i32 = (int32_t)ret.sword; break;
    case TH_INT64: result->u.i64 = ret.i64; break;
    case TH_UINT64: result->u.u64 = ret.u64; break;
    case TH_DOUBLE: result->u.f64 = ret.f64; break;
    case TH_STRING:
        *owned = ret.ptr;
        result->u.bytes.data = ret.ptr;
        result->u.bytes.length = ret.ptr ? (uint32_t)strlen(ret.ptr) : 0;
        break;
    default: break;
    }
}
