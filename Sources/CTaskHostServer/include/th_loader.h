/*
 * th_loader.h — loading plugin files into the fork server: each file is
 * checked (ELF, entry symbol), probed in a throwaway child, then opened
 * here and its descriptor checked; its calls are prepared for the workers.
 */
#ifndef TH_LOADER_H
#define TH_LOADER_H

#include "th_wire.h"
#include "th_worker.h"

TH__INTERNAL_BEGIN

/**
 * Loads the files a TH_MSG_LOAD body names into `set` and appends the
 * TH_MSG_PLUGINS reply frame to `reply`. Returns 0, or -1 when the request
 * is malformed.
 */
int th__load_plugins(th__plugin_set *set, th__reader *request, th__buf *reply);

TH__INTERNAL_END

#endif /* TH_LOADER_H */
