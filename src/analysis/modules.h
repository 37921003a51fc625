/* The modules (ELF files) mapped into the target, as libdw sees them.
 *
 * Built once per snapshot from the /proc/PID/maps text captured during the
 * stop, after the target runs again.  Files are opened inside the target's
 * mount namespace (/proc/PID/root/PATH), falling back to
 * /proc/PID/map_files/START-END for deleted or replaced files, and the vdso
 * is read from /proc/PID/mem.  Separate debug info is found the standard way
 * (/usr/lib/debug/.build-id); nothing is fetched over the network.
 * The unwinder and the symbolizer share this one Dwfl. */
#ifndef LEAKSCAN_MODULES_H
#define LEAKSCAN_MODULES_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "procfs.h"

struct modules {
        pid_t pid;
        Dwfl *dwfl;
        struct map_entry *maps;
        size_t n_maps;
        struct module_file **files;     /* per reported module, for find_elf */
        size_t n_files;
};

/* Reports every mapped ELF file of maps_text.  Returns 0 and a new struct in
 * *ret (free with modules_free), or a negative errno. */
int modules_new(pid_t pid, const char *maps_text, struct modules **ret);
void modules_free(struct modules *mods);

/* Reads one 8-byte word of the target's memory from the file that backs it
 * (text, read-only data), never from the live process.  Returns true when
 * addr lies in a file-backed mapping whose bytes the file holds. */
bool modules_read_file_word(struct modules *mods, uint64_t addr, uint64_t *ret);

/* Whether path names a system library whose frames are not the user's code:
 * libc, libpthread, libstdc++, libgcc_s, libm, ld.so, the vdso. */
bool modules_path_is_system(const char *path);

#endif
