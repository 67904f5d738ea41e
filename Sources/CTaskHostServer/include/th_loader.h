/*
 * th_loader.h — loading plugin files into the fork server.
 *
 * No plugin file can break the host: the server loads the files one by one,
 * and before each it sends the host a checkpoint (TH_MSG_LOADING). If the
 * server then dies (a constructor that exits or crashes) or hangs (the host
 * gives each file a load timeout), the host knows which file did it, refuses
 * that file and starts a new server without it; the host itself never loads
 * a plugin. Each file is first checked from its bytes (a regular file, an
 * ELF library for this machine, the entry symbol), then opened, its
 * descriptor checked and its calls prepared. A file that leaves a process or
 * a thread behind is refused too, and the server restarts without it (a
 * forking parent must have one thread and no stray children).
 */
#ifndef TH_LOADER_H
#define TH_LOADER_H

#include <sys/types.h>

#include "th_wire.h"
#include "th_worker.h"

TH__INTERNAL_BEGIN

/**
 * Starts the loading phase: die (after killing every descendant) when the
 * host dies, even inside a plugin's code; plugins' stdout and stderr go to
 * `output_fd` (the host reads it), if open.
 */
void th__loading_begin(pid_t host, int output_fd);

/** Ends it: stdout and stderr are the host's again, for the workers. */
void th__loading_end(void);

enum {
    TH__LOAD_DONE = 0,         /**< every file has its verdict; TH_MSG_PLUGINS sent */
    TH__LOAD_MALFORMED = -1,   /**< the request was malformed */
    TH__LOAD_HOST_GONE = -2,   /**< the host can't be reached */
    TH__LOAD_MUST_RESTART = -3 /**< a file left a process or thread behind; it was refused and this server must go */
};

/**
 * Loads the files a TH_MSG_LOAD body names into `set`, telling the host on
 * `socket_fd` about each (TH_MSG_LOADING, then TH_MSG_PLUGIN) and the end
 * (TH_MSG_PLUGINS). Returns a TH__LOAD_* value.
 */
int th__load_plugins(th__plugin_set *set, th__reader *request, int socket_fd);

TH__INTERNAL_END

#endif /* TH_LOADER_H */
