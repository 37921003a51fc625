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

/* What identifies a module's file without its bytes: kept in a snapshot
 * (src/snapshot/snapshot.h) so that it is analysed later from the same file, found
 * by path and checked by build-id. */
struct module_identity {
        char *path;             /* as maps names it, " (deleted)" stripped */
        uint64_t start, end;    /* its first mapping */
        uint64_t dev, inode;
        uint8_t build_id[64];   /* empty: never read (nothing needed it) */
        size_t build_id_len;
        uint8_t *image;         /* the vdso's bytes, or NULL */
        size_t image_len;
        int fd, debug_fd;       /* opened ahead (the sandboxed analyser opens
                                 * nothing), or -1: by path when needed */
};

void module_identities_free(struct module_identity *ids, size_t n);

struct modules {
        pid_t pid;              /* 0: offline, files from ids */
        const struct module_identity *ids;
        size_t n_ids;
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

/* modules_new for a process analysed offline: the modules of maps_text, each
 * file opened by its path on this machine (a regular file only) and used
 * only when its build-id is the one ids recorded; the vdso from its
 * recorded bytes.  ids (n of them) must outlive the result. */
int modules_new_offline(const char *maps_text, const struct module_identity *ids, size_t n,
                        struct modules **ret);

/* The identities of mods' modules, with the build-ids of those whose files
 * were read.  Returns 0 and a new array in *ret (free with
 * module_identities_free), or -ENOMEM. */
int modules_identities(struct modules *mods, struct module_identity **ret, size_t *ret_n);

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

/* Opens the file that process pid maps at [start, end) (named file in
 * maps, deleted or not, the inode dev/inode): through map_files, else file
 * resolved inside the process's root and checked to be that inode, with
 * modules_open_file.  Returns the fd (the caller's) or a negative errno. */
int modules_open_mapped(pid_t pid, uint64_t start, uint64_t end, const char *file, bool deleted, dev_t dev,
                        uint64_t inode);

/* What identifies the bytes of a file: a file rewritten in place keeps its
 * inode but not its times; one replaced at the same path gets a new inode. */
struct module_file_stat {
        uint64_t dev, ino, size;
        int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

/* What the symbols of a module are read from, for results kept across the
 * processes of one run (symbolize.c): its file, its build-id, the separate
 * debug info libdw would be given for it now (or none), and whether its
 * DWARF would send libdw on to another file (.gnu_debugaltlink, not part of
 * this identity).  Compared byte for byte: zeroed padding included. */
struct module_file_id {
        struct module_file_stat main, debug;
        uint8_t build_id[64];
        uint32_t build_id_len;
        uint32_t has_debug;
        uint32_t alt_link;
        uint32_t unused;
};

/* The identity of module mod's files (opening its main ELF file, as libdw
 * would to look up a symbol).  Returns 0 and *ret, or -ENODATA when mod has
 * none to go by: the vdso (read from the process), a module analysed
 * offline or through the capturer, a file that could not be opened. */
int modules_file_id(Dwfl_Module *mod, struct module_file_id *ret);

/* The identity of each file that process pid maps, as maps_text (its
 * /proc/PID/maps, as captured) lists them, opened as modules_open_mapped
 * does (what a capturer hands its analyser): what a supervisor checks the
 * places an analyser looked up against (procwire.h).  A file that cannot
 * be opened is left out.  Returns 0 and a new array in *ret (*ret_n
 * entries, NULL when none), or a negative errno. */
int modules_mapped_file_stats(pid_t pid, const char *maps_text, struct module_file_stat **ret, size_t *ret_n);

/* Writes into buf the path of the separate debug info for build-id id
 * (len bytes): /usr/lib/debug/.build-id/xx/yyyy.debug.  Returns 0, or
 * -EINVAL for an implausible id or a short buffer. */
int modules_build_id_path(const uint8_t *id, size_t len, char *buf, size_t size);

/* Whether path names a system library whose frames are not the user's code:
 * libc, libpthread, libstdc++, libgcc_s, libm, ld.so, the vdso. */
bool modules_path_is_system(const char *path);

#endif
