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

#endif /* TH_CALL_H */
