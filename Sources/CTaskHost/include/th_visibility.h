/*
 * th_visibility.h — internal symbols stay inside the binary that holds them.
 *
 * Every internal header of TaskHost's C core wraps its declarations in
 * TH__INTERNAL_BEGIN / TH__INTERNAL_END: its functions get hidden
 * visibility, so libTaskHost.so exports only the public C API
 * (include/taskhost/taskhost.h, marked TH_EXTERN there) and an embedding
 * program's own th__* functions can never override ours. Internal names
 * carry the th__ prefix; the public ones th_.
 */
#ifndef TH_VISIBILITY_H
#define TH_VISIBILITY_H

#define TH__INTERNAL_BEGIN _Pragma("GCC visibility push(hidden)")
#define TH__INTERNAL_END _Pragma("GCC visibility pop")

#endif /* TH_VISIBILITY_H */
