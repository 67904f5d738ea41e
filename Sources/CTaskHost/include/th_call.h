/*
 * th_call.h — calling a plugin's task through libffi.
 *
 * A call interface is prepared once per task (ffi_prep_cif) and reused for
 * every item. The commonest shapes (int64 -> int64, double -> double, no
 * arguments) skip libffi and call the function pointer directly.
 */
#ifndef TH_CALL_H
#define TH_CALL_H

#include <ffi.h>

#include "th_table.h"
#include "th_wire.h"

typedef struct th_call {
    const th_task *task;
    ffi_cif cif;
    ffi_type *types[2 * TH_MAX_PARAMS + 1];
    unsigned arg_count;
    int shape; /* a direct-call shape, or 0 for libffi */
} th_call;

/** Prepares the call interface. Returns 0, or -1 if libffi refuses it. */
int th_call_prepare(th_call *call, const th_task *task);

/**
 * Calls the task with arguments already checked against its parameters.
 * `context` is passed first when the task asked for it. The result's type is
 * the task's result type; a TH_STRING result points at a malloc'd string that
 * is also stored in *owned for the caller to free (NULL result: *owned NULL).
 */
void th_call_invoke(const th_call *call, const th_wire_value *args, th_context *context, th_wire_value *result,
                    char **owned);

/**
 * Runs items [first, first + count) of a packed chunk (th_protocol.h) in one
 * tight loop when the task has a direct-call shape: reads each item's
 * arguments from `columns` (one per parameter), writes its raw result to
 * `results` (count payloads), and counts it in *started before the call and
 * *finished after. Returns 1, or 0 without running anything when the task
 * needs the general path (libffi or a context).
 */
int th_call_packed(const th_call *call, const uint8_t *const *columns, uint32_t first, uint32_t count,
                   uint8_t *results, volatile uint64_t *started, volatile uint64_t *finished);

#endif /* TH_CALL_H */
