/*
 * th_elf.h — what a plugin file is, read from its bytes without loading it
 * (so no constructor runs): an ELF shared library for this machine that
 * exports the entry symbol, or why not.
 */
#ifndef TH_ELF_H
#define TH_ELF_H

#include <stddef.h>

#include "th_visibility.h"

TH__INTERNAL_BEGIN

enum {
    TH__ELF_OK = 0,
    TH__ELF_NOT_A_PLUGIN = -1, /**< not ELF, another architecture, not a library, no entry symbol */
    TH__ELF_UNREADABLE = -2,
};

/**
 * Checks the open file `fd` (a regular file): ELF, this machine's class and
 * architecture (another one is named: "built for another architecture:
 * aarch64"), a shared library, exporting `symbol`. Returns TH__ELF_OK, or
 * another TH__ELF_* with the reason in `error`.
 */
int th__elf_check(int fd, const char *symbol, char *error, size_t error_size);

TH__INTERNAL_END

#endif /* TH_ELF_H */
