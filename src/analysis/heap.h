/* What a walk of another allocator's heap gives the reachability scan
 * (reach.c): runs of equal objects, and the allocator's own words that
 * point at them and must not count as the program's.  Filled by
 * heap-jemalloc.c, heap-tcmalloc.c and heap-mimalloc.c. */
#ifndef LEAKSCAN_HEAP_H
#define LEAKSCAN_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Objects of one size tiling [start, end): regions of a slab or blocks of a
 * page, or one large allocation (size == end - start).  size is a multiple
 * of 8. */
struct heap_object_run {
        uint64_t start, end;
        uint64_t size;
};

struct heap_layout {
        struct heap_object_run *runs;   /* sorted by start, disjoint */
        size_t n_runs;
        uint64_t *meta;                 /* sorted addresses of the allocator's own
                                         * 8-byte words that point at runs */
        size_t n_meta;
        struct heap_skip {              /* sorted, disjoint: the allocator's own */
                uint64_t start, end;    /* arrays of pointers at free objects */
        } *skip;
        size_t n_skip;
};

void heap_layout_done(struct heap_layout *l);

struct reach_memory;
struct map_entry;

/* The writable data of the library that is_library picks among maps, and
 * the anonymous writable mappings right after it (its bss): [*ret_start,
 * *ret_end).  Returns 0, or -ENOENT when the process has no such library. */
int heap_library_data(const struct map_entry *maps, size_t n_maps, bool (*is_library)(const struct map_entry *),
                      uint64_t *ret_start, uint64_t *ret_end);

/* Reads [addr, addr + len) (page-aligned) of the process into buf, the
 * pages it never touched (mem->touched) as zeros: they hold nothing, and
 * reading them would fault them in.  *ret_first_touched: whether the first
 * page was (may be NULL).  Returns 0, -EIO or -ENOMEM. */
int heap_read_touched(const struct reach_memory *mem, uint64_t addr, uint8_t *buf, size_t len,
                      bool *ret_first_touched);

#endif
