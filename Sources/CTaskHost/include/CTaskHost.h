/*
 * The host side of TaskHost's C core, as the Swift library sees it: the
 * wire codec, the protocol's messages, IPC and spawning the fork server.
 * (The server side — loader, fork server, workers, libffi — is
 * CTaskHostServer, linked only into taskhost-forkserver.)
 */
#ifndef CTASKHOST_H
#define CTASKHOST_H

#include "th_wire.h"
#include "th_protocol.h"
#include "th_ipc.h"
#include "th_spawn.h"
#include "th_wait_status.h"
#include "th_pidfd.h"
#include "th_sandbox_support.h"

#endif /* CTASKHOST_H */
