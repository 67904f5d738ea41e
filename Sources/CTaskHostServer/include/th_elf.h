/*
 * th_elf.h — what a plugin file is, read from its bytes without loading it
 * (so no constructor runs).
 */
#ifndef TH_ELF_H
#define TH_ELF_H

#include "th_visibility.h"

TH__INTERNAL_BEGIN

/**
 * Tells whether the ELF shared object at `path` exports `symbol`. 1 yes,
 * 0 no (or not ELF), -1 when the file can't be read (errno).
 */
int th__elf_exports(const char *path, const char *symbol);

TH__INTERNAL_END

#endif /* TH_ELF_H */
