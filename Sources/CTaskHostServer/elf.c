/* Checking a plugin file's ELF header and symbols without loading it (see th_elf.h). */
#include "th_elf.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Looks `symbol` up in the dynamic symbol table of a mapped 64-bit ELF. */
static int exports_in_image(const unsigned char *image, size_t size, const char *symbol) {
    if (size < sizeof(Elf64_Ehdr) || memcmp(image, ELFMAG, SELFMAG) != 0) return 0;
    if (image[EI_CLASS] != ELFCLASS64) return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)image;
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr)) return 0;
    if (eh->e_shoff > size || (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum) return 0;
    const Elf64_Shdr *sections = (const Elf64_Shdr *)(image + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *s = &sections[i];
        if (s->sh_type != SHT_DYNSYM || s->sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr *strings = &sections[s->sh_link];
        if (s->sh_offset > size || s->sh_size > size - s->sh_offset) return 0;
        if (strings->sh_offset > size || strings->sh_size > size - strings->sh_offset) return 0;
        const Elf64_Sym *symbols = (const Elf64_Sym *)(image + s->sh_offset);
        size_t count = s->sh_size / sizeof(Elf64_Sym);
        const char *names = (const char *)image + strings->sh_offset;
        size_t wanted = strlen(symbol);
        for (size_t k = 0; k < count; k++) {
            const Elf64_Sym *sym = &symbols[k];
            if (sym->st_shndx == SHN_UNDEF || sym->st_name >= strings->sh_size) continue;
            if (strings->sh_size - sym->st_name <= wanted) continue;
            if (memcmp(names + sym->st_name, symbol, wanted + 1) == 0) return 1;
        }
    }
    return 0;
}

/* The machine this server was built for, as ELF names it. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define HOST_CLASS ELFCLASS64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define HOST_CLASS ELFCLASS64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#define HOST_CLASS ELFCLASS32
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_MACHINE EM_RISCV
#define HOST_CLASS ELFCLASS64
#endif

static const char *machine_name(unsigned machine, unsigned elf_class) {
    switch (machine) {
    case EM_386: return "i386 (32-bit x86)";
    case EM_X86_64: return elf_class == ELFCLASS32 ? "x32" : "x86-64";
    case EM_AARCH64: return "aarch64 (64-bit ARM)";
    case EM_ARM: return "arm (32-bit ARM)";
    case EM_RISCV: return elf_class == ELFCLASS32 ? "riscv32" : "riscv64";
    case EM_PPC64: return "ppc64";
    case EM_PPC: return "ppc (32-bit PowerPC)";
    case EM_S390: return "s390x";
    case EM_MIPS: return "mips";
    case EM_SPARCV9: return "sparc64";
    case EM_LOONGARCH: return "loongarch";
    default: return NULL;
    }
}

int th__elf_check(int fd, const char *symbol, char *error, size_t error_size) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(error, error_size, "it cannot be read: %s", strerror(errno));
        return TH__ELF_UNREADABLE;
    }
    unsigned char ident[20]; /* e_ident, e_type and e_machine: the same place in 32- and 64-bit files */
    if (st.st_size < (off_t)sizeof ident || pread(fd, ident, sizeof ident, 0) != (ssize_t)sizeof ident ||
        memcmp(ident, ELFMAG, SELFMAG) != 0) {
        snprintf(error, error_size, "it is not an ELF shared library, so it is not a TaskHost plugin");
        return TH__ELF_NOT_A_PLUGIN;
    }
    unsigned elf_class = ident[EI_CLASS];
    int little = ident[EI_DATA] == ELFDATA2LSB;
    unsigned type = little ? (unsigned)(ident[16] | ident[17] << 8) : (unsigned)(ident[16] << 8 | ident[17]);
    unsigned machine = little ? (unsigned)(ident[18] | ident[19] << 8) : (unsigned)(ident[18] << 8 | ident[19]);
#ifdef HOST_MACHINE
    if (machine != HOST_MACHINE || elf_class != HOST_CLASS) {
        const char *theirs = machine_name(machine, elf_class);
        char unknown[48];
        if (!theirs) {
            snprintf(unknown, sizeof unknown, "ELF machine %u, %d-bit", machine, elf_class == ELFCLASS32 ? 32 : 64);
            theirs = unknown;
        }
        snprintf(error, error_size, "it is built for another architecture: %s, but this host is %s", theirs,
                 machine_name(HOST_MACHINE, HOST_CLASS));
        return TH__ELF_NOT_A_PLUGIN;
    }
#else
    (void)machine;
#endif
    if (type != ET_DYN) {
        snprintf(error, error_size, "it is an ELF %s, not a shared library, so it is not a TaskHost plugin",
                 type == ET_EXEC ? "executable" : type == ET_REL ? "object file" : "file");
        return TH__ELF_NOT_A_PLUGIN;
    }
    if (elf_class != ELFCLASS64) return TH__ELF_OK; /* no symbol reader for 32-bit hosts: dlsym will tell */
    void *image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (image == MAP_FAILED) {
        snprintf(error, error_size, "it cannot be read: %s", strerror(errno));
        return TH__ELF_UNREADABLE;
    }
    int found = exports_in_image(image, (size_t)st.st_size, symbol);
    munmap(image, (size_t)st.st_size);
    if (!found) {
        snprintf(error, error_size, "it has no entry symbol '%s', so it is not a TaskHost plugin", symbol);
        return TH__ELF_NOT_A_PLUGIN;
    }
    return TH__ELF_OK;
}
