/* Symbolize: program counters to functions (demangled), inlined frames,
 * source file and line, module and offset, with libdw.
 *
 * One target has many identical PCs (every thread of a pool blocks at the
 * same return addresses), so results are cached per PC for the life of the
 * symbolizer; DWARF itself is loaded lazily, per module, by libdw. */
#ifndef LEAKSCAN_SYMBOLIZE_H
#define LEAKSCAN_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "leakscan/leakscan.h"
#include "model.h"
#include "modules.h"

struct symbolizer;

/* Returns a new symbolizer over mods (which must outlive it), or NULL.
 * system_lines: also read DWARF (source lines, inlined frames) of system
 * libraries, not only their symbol tables. */
struct symbolizer *symbolizer_new(struct modules *mods, bool system_lines);
void symbolizer_free(struct symbolizer *s);

/* Appends the frames for pc (one, or more when functions were inlined there,
 * innermost first) to the array *frames of *n entries.  activation: pc is exact rather than a
 * return address.  The strings of the new frames are owned by the frames.
 * Returns 0 or -ENOMEM. */
int symbolize_pc(struct symbolizer *s, uint64_t pc, bool activation,
                 struct leakscan_frame **frames, size_t *n);

/* Whether symbolize_pc may answer from, and add to, the places it looked
 * up before in this process, in modules of the same files (on by default;
 * symbolize.c says why that gives the same frames).  Off, every place is
 * looked up anew, as the out-of-memory test needs. */
void symbolize_places_enable(bool enable);

/* How many places are kept (for the tests: that a lookup was kept). */
size_t symbolize_places_count(void);

/* Marks the places kept so far (a forked analyser, at its start: those
 * its supervisor kept) and counts anew the lookups they answer. */
void symbolize_places_mark(void);

/* How many lookups the places kept before the mark answered (for the
 * tests: that an analyser used what its supervisor handed down). */
size_t symbolize_places_hits(void);

/* A place kept: what it was looked up by (the files' identity, the
 * address's offset in the module, whether DWARF was read) and the names
 * found there, innermost first. */
struct symbolize_place_name {
        const char *function, *file;
        int line;
        bool inlined;
};

struct symbolize_place {
        struct module_file_id id;
        uint64_t rel;
        bool want_dwarf;
        const struct symbolize_place_name *names;
        size_t n;
};

/* The i-th place kept, in the order kept (i < symbolize_places_count()):
 * *ret borrows the table's strings, kept for the life of the process.
 * Returns 0, or -ENOENT past the end. */
int symbolize_places_get(size_t i, struct symbolize_place *ret);

/* Keeps a copy of p (places looked up elsewhere: a forked analyser's,
 * handed back to its supervisor, which checks them first; see
 * procwire.h).  Returns 1 when kept, 0 when the place was known, the
 * table is full or off, or p has no names, or -ENOMEM. */
int symbolize_places_add(const struct symbolize_place *p);

/* Returns the demangled form of a C++ symbol (new string), or a copy of name. */
char *symbolize_demangle(const char *name);

/* Source paths in DWARF are often relative to the compilation directory
 * ("../src/t.c"): joins them to comp_dir and tidies "." and ".." so that a
 * report points at the file wherever it is read.  Returns a new string, or
 * NULL for a NULL file. */
char *symbolize_source_path(const char *file, const char *comp_dir);

#endif
