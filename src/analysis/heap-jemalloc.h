/* jemalloc's heap, read from outside the process for the reachability scan
 * (reach.c): the extents jemalloc has registered in its radix tree, each a
 * slab of equal regions or one large allocation, found from the tree's root
 * in libjemalloc's .bss without symbols or debug info (Debian's library is
 * stripped).  Only jemalloc 5.3's layout is known; any other version, or a
 * tree that does not check out, is refused with a note, never guessed at.
 *
 * Conservative as the glibc walk: every region counts as in use (jemalloc
 * keeps which are free in bitmaps we do not read), and the words through
 * which jemalloc's own metadata points at its extents (each edata_t's
 * e_addr) are listed so that the scan does not take them for the
 * program's pointers. */
#ifndef LEAKSCAN_HEAP_JEMALLOC_H
#define LEAKSCAN_HEAP_JEMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "procfs.h"
#include "reach.h"

/* Walks the jemalloc heap of the process whose memory mem reads and whose
 * mappings are maps.  Returns 0 with *ret filled (owned by the caller:
 * heap_layout_done), -ENOENT when no libjemalloc is mapped, -EPROTO with a
 * static *ret_note when its version or layout is not known, -EAGAIN with a
 * note when its extents did not check out (they may have changed while
 * read: worth another try), -EIO when a read failed, or -ENOMEM. */
int heap_jemalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note);

/* Adds to l->skip the thread caches' stacks of the threads whose thread
 * pointers are tls[0..n) (0: unknown): jemalloc keeps in each thread's
 * TSD, just below its thread pointer, the bins of its cache, each pointing
 * into one allocation of stacks of pointers at cached free regions; the
 * slots below a stack's head keep the regions it has since handed out,
 * stale pointers that would keep every object the thread allocated.
 * Returns 0 or -ENOMEM. */
int heap_jemalloc_tcaches(const struct reach_memory *mem, const uint64_t *tls, size_t n, struct heap_layout *l);

#endif
