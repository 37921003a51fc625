/* mimalloc's heap, read from outside the process for the reachability
 * scan (reach.c).  mimalloc 2 keeps its memory in segments aligned to
 * their 32 MiB size, each starting with a header that describes its 64 KiB
 * slices: spans of slices are pages of blocks of one size.  The segments
 * are found by their alignment and checked by that description (the spans
 * must tile the segment exactly); no symbol is needed.  Only mimalloc
 * 2.0.9's header layout is known (Debian 12's libmimalloc2.0); a header
 * that does not check out is no segment, and a process whose mimalloc
 * shows none is refused with a note.
 *
 * Conservative as the glibc walk: every block a page has handed out or
 * may hand out counts as in use (the free lists are not read). */
#ifndef LEAKSCAN_HEAP_MIMALLOC_H
#define LEAKSCAN_HEAP_MIMALLOC_H

#include "heap.h"
#include "procfs.h"
#include "reach.h"

/* Walks the mimalloc heap of the process whose memory mem reads and whose
 * mappings are maps.  Returns 0 with *ret filled (heap_layout_done),
 * -ENOENT when no libmimalloc is mapped, -EPROTO with a static *ret_note
 * when no segment of the known layout is found, or -ENOMEM. */
int heap_mimalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note);

#endif
