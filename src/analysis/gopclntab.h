/* Function names, files and lines of Go code from .gopclntab, the table
 * the Go runtime keeps for its own tracebacks: present in stripped Go
 * binaries, which have neither an ELF symbol table nor DWARF.
 *
 * The parser reads a table in memory and keeps nothing; the module hook
 * finds the section of an ELF module through libelf. */
#ifndef LEAKSCAN_GOPCLNTAB_H
#define LEAKSCAN_GOPCLNTAB_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gopclntab_place {
        const char *function;   /* "main.waitForJob": points into the table */
        uint64_t entry;         /* the function's link-time address */
        const char *file;       /* points into the table, or NULL */
        int line;               /* 0 with no file */
};

/* Looks up pc (a link-time address) in the .gopclntab data of size bytes.
 * Returns 0 and *ret, -ENOENT when no function covers pc, -EPROTONOSUPPORT
 * for a table of Go before 1.18, -EINVAL for a malformed one. */
int gopclntab_lookup(const uint8_t *data, size_t size, uint64_t pc, struct gopclntab_place *ret);

/* The Go function at addr (an address in the target) of mod, when mod has
 * a .gopclntab: 0 and new strings in *ret_function and *ret_file (NULL
 * without line info) and the line; -ENOENT when mod has none or it names no
 * function there; -ENOMEM. */
int gopclntab_symbolize(Dwfl_Module *mod, uint64_t addr, char **ret_function, char **ret_file, int *ret_line);

#endif
