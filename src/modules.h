/* The modules (ELF files) mapped into the target, as libdw sees them.
 *
 * Built once per snapshot from the /proc/PID/maps text captured during the
 * stop, after the target runs again.  Every name in maps and in the files is
 * the target's to choose, so a file is opened only as the very inode mapped
 * and only if it is a regular file (modules_open_file): through
 * /proc/PID/map_files/START-END, else by its path resolved inside the
 * target's root (/proc/PID/root, openat2 RESOLVE_IN_ROOT).  The vdso is read
 * from the process.  Separate debug info is found by build-id only
 * (/usr/lib/debug/.build-id/xx/yyyy.debug), never by a name the target's
 * files give (.gnu_debuglink, .gnu_debugaltlink); nothing is fetched over
 * the network.
 * The unwinder and the symbolizer share this one Dwfl. */
#ifndef LEAKSCAN_MODULES_H
#define LEAKSCAN_MODULES_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
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

/* Opens path (relative to dirfd, resolved with openat2's resolve flags)
 * for reading, never blocking, only if it is a regular file and, with want
 * set, the inode want names (st_dev, st_ino).  The name is looked at with
 * O_PATH and fstat first, so that nothing else is ever opened (a FIFO, a
 * device node).  Returns the fd (the caller's) or a negative errno: -EBADF
 * not a regular file, -ESTALE another inode. */
int modules_open_file(int dirfd, const char *path, uint64_t resolve, const struct stat *want);

/* Writes into buf the path of the separate debug info for build-id id
 * (len bytes): /usr/lib/debug/.build-id/xx/yyyy.debug.  Returns 0, or
 * -EINVAL for an implausible id or a short buffer. */
int modules_build_id_path(const uint8_t *id, size_t len, char *buf, size_t size);

/* Whether path names a system library whose frames are not the user's code:
 * libc, libpthread, libstdc++, libgcc_s, libm, ld.so, the vdso. */
bool modules_path_is_system(const char *path);

#endif
