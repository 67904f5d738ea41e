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

#include "th_descriptor_check.h"
#include "th_wire.h"

#include "th_visibility.h"

TH__INTERNAL_BEGIN

typedef struct th__call {
    const th_task *task;
    ffi_cif cif;
    ffi_type *types[2 * TH_MAX_PARAMS + 1];
    unsigned arg_count;
    int shape; /* a direct-call shape, or 0 for libffi */
} th__call;

/** Prepares the call interface. Returns 0, or -1 if libffi refuses it. */
int th__call_prepare(th__call *call, const th_task *task);

/** The wire type of an argument for a parameter of `type`: the type itself,
 *  except TH_SHARED_BYTES, whose argument travels as the view's text (a
 *  TH_STRING, see th__shared_resolve_view). */
uint8_t th__call_wire_type(th_type type);

/**
 * Calls the task with arguments already checked against its parameters
 * (of th__call_wire_type). `context` is passed first when the task asked for
 * it, and always receives the error when a TH_SHARED_BYTES argument names no
 * buffer of this process (the task is then not called). The result's type is
 * the task's result type; a TH_STRING result points at a malloc'd string that
 * is also stored in *owned for the caller to free (NULL result: *owned NULL).
 */
void th__call_invoke(const th__call *call, const th__wire_value *args, th_context *context, th__wire_value *result,
                    char **owned);

/**
 * Runs items [first, first + count) of a packed chunk (th_protocol.h) in one
 * tight loop when the task has a direct-call shape: reads each item's
 * arguments from `columns` (one per parameter), writes its raw result to
 * `results` (count payloads), and counts it in *started before the call and
 * *finished after. Returns 1, or 0 without running anything when the task
 * needs the general path (libffi or a context).
 */
int th__call_packed(const th__call *call, const uint8_t *const *columns, uint32_t first, uint32_t count,
                   uint8_t *results, volatile uint64_t *started, volatile uint64_t *finished);

/**
 * As th__call_packed, for a checked task that takes a context and may fail
 * an item ((context, int64) -> int64, such as square): passes `context` to
 * each call and stops after the first item that leaves an error in *error
 * (the context's message slot, NULL before the call). Returns how many items
 * succeeded (their results written); when that is less than `count`, the
 * next item ran and failed (counted in *started and *finished, its result
 * slot untouched). Returns -1 without running anything for any other shape.
 */
int64_t th__call_packed_checked(const th__call *call, const uint8_t *const *columns, uint32_t first, uint32_t count,
                                uint8_t *results, th_context *context, char *const *error, volatile uint64_t *started,
                                volatile uint64_t *finished);

TH__INTERNAL_END

#endif /* TH_CALL_H */
