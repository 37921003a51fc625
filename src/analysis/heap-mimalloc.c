/* mimalloc 2.0.9 heap walk; see heap-mimalloc.h.
 *
 * x86_64, release build (no MI_SECURE, no MI_DEBUG): a segment is aligned
 * to MI_SEGMENT_SIZE (32 MiB); its mi_segment_t has segment_slices at 224,
 * segment_info_slices at 232, kind at 240 (0 normal, 1 huge),
 * slice_entries at 248 and the slices at 264, 80 bytes each (mi_page_t:
 * slice_count u32 at 0, slice_offset u32 at 4, capacity u16 at 10,
 * reserved u16 at 12, xblock_size u32 at 28).  A normal segment has 512
 * slices of 64 KiB; the first segment_info_slices hold the header.  A span
 * of slices starts with slice_count > 0 and slice_offset 0; a page in use
 * has xblock_size > 0, its blocks start 384 bytes in for blocks of 8 to
 * 1024 bytes (at the slice otherwise), one after another, capacity of them
 * handed out so far; xblock_size >= 2 GiB means one block as large as the
 * page.  A huge segment is one page after its header, longer than 512
 * slices. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "heap-mimalloc.h"
#include "util.h"

#define MI_SEG_SIZE (32ull << 20)
#define MI_SLICE (64ull << 10)
#define MI_SLICES 512u
#define MI_HDR 264u
#define MI_PAGE_SIZE 80u
#define MI_HUGE_BLOCK 0x80000000u
#define MI_SMALL_START 384u

static uint64_t u64_at(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
}

static uint32_t u32_at(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
}

static uint16_t u16_at(const uint8_t *p)
{
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
}

static bool is_mimalloc(const struct map_entry *m)
{
        const char *base = strrchr(m->path, '/');
        return base && startswith(base + 1, "libmimalloc.so.2");
}

/* The runs of the segment at seg (read into buf: header and slices), in a
 * mapping ending at map_end; appended to l.  Returns 1 when it is a
 * segment, 0 when not (nothing appended), or -ENOMEM. */
static int segment_runs(const uint8_t *buf, uint64_t seg, uint64_t map_end, struct heap_layout *l, size_t *cap)
{
        uint64_t segment_slices = u64_at(buf + 224), info = u64_at(buf + 232);
        uint64_t kind = u64_at(buf + 240) & 0xffffffffu, entries = u64_at(buf + 248);
        bool huge = kind == 1;
        if (kind > 1 || info < 1 || info > 8 || entries < info + 1 || entries > MI_SLICES)
                return 0;
        if (!huge && (segment_slices != MI_SLICES || entries != MI_SLICES))
                return 0;
        if (huge && (segment_slices <= info || seg + segment_slices * MI_SLICE > map_end))
                return 0;
        size_t first = l->n_runs;
        uint64_t i = 0;
        while (i < entries) {
                const uint8_t *sl = buf + MI_HDR + i * MI_PAGE_SIZE;
                uint32_t count = u32_at(sl), offset = u32_at(sl + 4), xbs = u32_at(sl + 28);
                if (count == 0 || offset != 0 || (!huge && i + count > entries) ||
                    (huge && i + count > segment_slices)) {
                        l->n_runs = first;
                        return 0;
                }
                if (i >= info && xbs > 0) {
                        uint64_t psize = (uint64_t) count * MI_SLICE;
                        uint64_t start_off = xbs >= 8 && xbs <= 1024 ? MI_SMALL_START : 0;
                        uint64_t bsize = xbs < MI_HUGE_BLOCK ? xbs : psize - start_off;
                        uint16_t capacity = u16_at(sl + 10), reserved = u16_at(sl + 12);
                        if (bsize % 8 || capacity > reserved || (uint64_t) reserved * bsize > psize - start_off) {
                                l->n_runs = first;
                                return 0;
                        }
                        if (capacity > 0) {
                                if (grow_array(&l->runs, cap, l->n_runs + 1, sizeof *l->runs) < 0)
                                        return -ENOMEM;
                                uint64_t start = seg + i * MI_SLICE + start_off;
                                l->runs[l->n_runs++] = (struct heap_object_run) { start, start + capacity * bsize,
                                                                                  bsize };
                        }
                }
                i += count;
        }
        return 1;
}

int heap_mimalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note)
{
        bool present = false;
        for (size_t i = 0; i < n_maps && !present; i++)
                present = is_mimalloc(&maps[i]);
        if (!present)
                return -ENOENT;
        /* header and slices, in whole pages */
        size_t len = (MI_HDR + (MI_SLICES + 1) * MI_PAGE_SIZE + 4095) / 4096 * 4096;
        _cleanup_free_ uint8_t *buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        struct heap_layout l = {0};
        size_t cap = 0, segments = 0;
        for (size_t k = 0; k < n_maps; k++) {
                const struct map_entry *m = &maps[k];
                if (m->path[0] || m->perms[0] != 'r' || m->perms[1] != 'w')
                        continue;
                for (uint64_t seg = (m->start + MI_SEG_SIZE - 1) & ~(MI_SEG_SIZE - 1); seg + len <= m->end;
                     seg += MI_SEG_SIZE) {
                        /* a header is written: an untouched page is none
                         * (and is not faulted in by reading it) */
                        bool touched = true;
                        if (heap_read_touched(mem, seg, buf, len, &touched) < 0 || !touched)
                                continue;       /* not a segment we can read: its memory stays a root */
                        int r = segment_runs(buf, seg, m->end, &l, &cap);
                        if (r < 0) {
                                heap_layout_done(&l);
                                return r;
                        }
                        segments += (size_t) r;
                }
        }
        if (segments == 0) {
                heap_layout_done(&l);
                *ret_note = "the process uses mimalloc, but no segment of mimalloc 2.0.9's layout was found";
                return -EPROTO;
        }
        *ret = l;
        return 0;
}
