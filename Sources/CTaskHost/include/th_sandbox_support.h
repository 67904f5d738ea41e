/*
 * th_sandbox_support.h — whether this kernel can sandbox workers, asked by
 * the host before any work starts (the sandbox itself is th_sandbox.h, on
 * the fork server's side; the host never links libseccomp).
 */
#ifndef TH_SANDBOX_SUPPORT_H
#define TH_SANDBOX_SUPPORT_H

#include <stddef.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/**
 * Returns the kernel's Landlock ABI version (>= 1) when it has both
 * Landlock and seccomp filters that can trap calls; otherwise -1 with the
 * reason in `why` ("this kernel has no Landlock (Linux 5.13 or later)" ...).
 */
int th__sandbox_support(char *why, size_t why_size);

TH__INTERNAL_END

#endif /* TH_SANDBOX_SUPPORT_H */
