/*
 * Compile-time checks of the C API's layout promises. The functions of
 * taskhost.h are implemented in Swift (Sources/TaskHost/CAPI); this file only
 * makes sure the header compiles as C11 with -Wall -Wextra and that the
 * structures callers build keep their shape.
 */
#include "CTaskHostAPI.h"

#include <stddef.h>

_Static_assert(TH_ABI_MAJOR == 1, "the C API is built for plugin ABI 1");
_Static_assert(offsetof(th_value, type) == 0, "th_value starts with its type");
_Static_assert(sizeof(((th_value *)0)->as) == sizeof(void *) + sizeof(size_t), "th_value's union is data + length");
_Static_assert(offsetof(th_host_options, size) == 0, "options start with their size");
_Static_assert(offsetof(th_pool_options, size) == 0, "options start with their size");
_Static_assert(TH_OK == 0 && TH_ERR_SYSTEM == 9, "error kinds are numbered as documented");
