/* tcmalloc's heap (gperftools 2.10, Debian 12's libtcmalloc), read from
 * outside the process for the reachability scan (reach.c): every span its
 * page map names, a span of small objects cut by its size class or one
 * large object, found from the map's root and the size class table in
 * libtcmalloc's .bss without symbols.  Another version, or a map that does
 * not check out, is refused with a note.
 *
 * Conservative as the glibc walk: every object of a span counts as in use
 * (the free lists are not read); a free span is one object, scanned only if
 * something points into it. */
#ifndef LEAKSCAN_HEAP_TCMALLOC_H
#define LEAKSCAN_HEAP_TCMALLOC_H

#include "heap.h"
#include "procfs.h"
#include "reach.h"

/* Returns 0 with *ret filled (heap_layout_done), -ENOENT when no tcmalloc
 * is mapped, -EPROTO with a static *ret_note when its version or layout is
 * not known, -EAGAIN with a note when its spans did not check out (maybe
 * changed while read), -EIO when a read failed, or -ENOMEM. */
int heap_tcmalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note);

#endif
