/* Reading a plugin file's ELF header and symbols without loading it (see th_elf.h). */
#include "th_elf.h"

#include <elf.h>
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

int th__elf_exports(const char *path, const char *symbol) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return 0;
    }
    void *image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (image == MAP_FAILED) return -1;
    int found = exports_in_image(image, (size_t)st.st_size, symbol);
    munmap(image, (size_t)st.st_size);
    return found;
}
