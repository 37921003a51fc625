/* gperftools tcmalloc 2.10 heap walk; see heap-tcmalloc.h.
 *
 * x86_64, 8 KiB pages: the page heap maps each page to its Span through a
 * two-level map (TCMalloc_PageMap2<35>) whose root of 2^17 leaf pointers is
 * embedded in the page heap, a static in libtcmalloc's .bss; a leaf holds
 * 2^18 Span pointers.  A Span: start (page number) at 0, length (pages) at
 * 8, then next, prev, objects, and a word at 40 of bit fields: refcount
 * 0-15, sizeclass 16-23, location 24-25 (0: in use).  A span of small
 * objects registers every page and cuts itself into objects of its size
 * class from its start; a large object is a span of its own (size class 0).
 * Size classes are computed at run time into the SizeMap, also in .bss:
 * its class_to_size_ (int32[128], from 0, 8, 16, 32, 48, 64...) is found by
 * that start, class_to_pages_ (size_t[128]) right after it.  Both the root
 * and the table are told by what they point at or hold, never by symbols
 * (the library is stripped). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "heap-tcmalloc.h"
#include "util.h"

#define TC_PAGE_SHIFT 13
#define TC_PAGE (1ull << TC_PAGE_SHIFT)
#define TC_LEAF_BITS 18
#define TC_LEAF_LEN (1ull << TC_LEAF_BITS)
#define TC_ROOT_LEN (1ull << 17)
#define TC_ROOT_BYTES (TC_ROOT_LEN * 8)
#define TC_LEAF_BYTES (TC_LEAF_LEN * 8)
#define TC_SLOT_SHIFT (TC_PAGE_SHIFT + TC_LEAF_BITS)   /* 2 GiB per root slot */
#define TC_CLASSES 128
#define BATCH 1024

static int read_exact(const struct reach_memory *mem, uint64_t addr, void *buf, size_t len)
{
        struct iovec local = { buf, len }, remote = { (void *) (uintptr_t) addr, len };
        ssize_t got = mem->read(mem->userdata, &local, &remote, 1);
        return got == (ssize_t) len ? 0 : -EIO;
}

/* libtcmalloc.so, libtcmalloc_minimal.so, libtcmalloc_and_profiler.so: the
 * same page heap; the _debug variants put guards around every object. */
static bool is_tcmalloc(const struct map_entry *m)
{
        const char *base = strrchr(m->path, '/');
        if (!base || strstr(base, "_debug"))
                return false;
        return startswith(base + 1, "libtcmalloc.so") || startswith(base + 1, "libtcmalloc_minimal.so") ||
               startswith(base + 1, "libtcmalloc_and_profiler.so");
}

/* tcmalloc takes memory with sbrk first, then mmap: its pages and its
 * metadata are in [heap] or anonymous mappings */
static bool anonymous(const struct map_entry *m)
{
        return m->path[0] == 0 || startswith(m->path, "[anon") || streq(m->path, "[heap]");
}

static bool pointer_into_anon(const struct map_entry *maps, size_t n, uint64_t p, uint64_t room)
{
        const struct map_entry *m = map_entries_find(maps, n, p);
        return m && anonymous(m) && m->perms[0] == 'r' && m->end - p >= room;
}

static bool slot_mapped(const struct map_entry *maps, size_t n, uint64_t i)
{
        uint64_t lo = i << TC_SLOT_SHIFT, hi = (i + 1) << TC_SLOT_SHIFT;
        for (size_t k = 0; k < n; k++)
                if (maps[k].start < hi && maps[k].end > lo && anonymous(&maps[k]))
                        return true;
        return false;
}

static bool version_ok(const struct reach_memory *mem, const struct map_entry *maps, size_t n)
{
        static const char want[] = "gperftools 2.10";
        for (size_t i = 0; i < n; i++) {
                const struct map_entry *m = &maps[i];
                if (!is_tcmalloc(m) || m->perms[0] != 'r' || m->perms[1] == 'w' || m->perms[2] == 'x')
                        continue;
                size_t len = (size_t) (m->end - m->start);
                if (len > (16u << 20))
                        continue;
                _cleanup_free_ char *buf = malloc(len + 1);
                if (!buf || read_exact(mem, m->start, buf, len) < 0)
                        continue;
                buf[len] = 0;
                for (size_t k = 1; k + sizeof want <= len; k++)
                        if (buf[k - 1] == 0 && memcmp(buf + k, want, sizeof want) == 0)  /* with its NUL */
                                return true;
        }
        return false;
}

/* The Span at addr: start page, length, size class and location. */
struct span {
        uint64_t start, length;
        unsigned sizeclass, location;
};

static int read_spans(const struct reach_memory *mem, const uint64_t *addrs, size_t n, struct span *out)
{
        uint64_t (*raw)[6] = calloc(n + 1, sizeof *raw);
        if (!raw)
                return -ENOMEM;
        int r = 0;
        for (size_t a = 0; a < n && r == 0; a += BATCH) {
                struct iovec local[BATCH], remote[BATCH];
                size_t m = n - a < BATCH ? n - a : BATCH;
                for (size_t k = 0; k < m; k++) {
                        local[k] = (struct iovec) { raw[a + k], sizeof *raw };
                        remote[k] = (struct iovec) { (void *) (uintptr_t) addrs[a + k], sizeof *raw };
                }
                ssize_t got = mem->read(mem->userdata, local, remote, m);
                r = got == (ssize_t) (m * sizeof *raw) ? 0 : -EIO;
        }
        for (size_t k = 0; k < n && r == 0; k++) {
                uint32_t bits = (uint32_t) raw[k][5];
                out[k] = (struct span) { raw[k][0], raw[k][1], bits >> 16 & 0xff, bits >> 24 & 3 };
        }
        free(raw);
        return r;
}

/* The leaf at leaf_addr is root slot i's: its first spans cover their pages. */
static bool leaf_checks_out(const struct reach_memory *mem, uint64_t i, uint64_t leaf_addr, uint8_t *buf)
{
        if (heap_read_touched(mem, leaf_addr, buf, TC_LEAF_BYTES, NULL) < 0)
                return false;
        unsigned seen = 0;
        for (uint64_t j = 0; j < TC_LEAF_LEN && seen < 4; j++) {
                uint64_t sp;
                memcpy(&sp, buf + j * 8, 8);
                if (!sp)
                        continue;
                struct span s;
                if (sp % 8 || read_spans(mem, &sp, 1, &s) < 0)
                        return false;
                uint64_t page = i << TC_LEAF_BITS | j;
                if (page < s.start || page >= s.start + s.length)
                        return false;
                seen++;
        }
        return seen > 0;
}

static bool root_checks_out(const uint8_t *data, size_t off, const struct map_entry *maps, size_t n)
{
        size_t used = 0;
        for (uint64_t i = 0; i < TC_ROOT_LEN; i++) {
                uint64_t w;
                memcpy(&w, data + off + i * 8, 8);
                if (!w)
                        continue;
                if (w % 8 || !pointer_into_anon(maps, n, w, TC_LEAF_BYTES) || !slot_mapped(maps, n, i))
                        return false;
                used++;
        }
        return used > 0;
}

static long find_root(const struct reach_memory *mem, const uint8_t *data, size_t len,
                      const struct map_entry *maps, size_t n)
{
        if (len < TC_ROOT_BYTES)
                return -ENOENT;
        _cleanup_free_ uint8_t *leaf = malloc(TC_LEAF_BYTES);
        /* bad[k]: words before k that no root can hold (neither zero nor a
         * leaf pointer): a window holding one is no root, known at once */
        size_t words = len / 8;
        _cleanup_free_ uint32_t *bad = malloc((words + 1) * sizeof *bad);
        if (!leaf || !bad)
                return -ENOMEM;
        bad[0] = 0;
        for (size_t k = 0; k < words; k++) {
                uint64_t w;
                memcpy(&w, data + k * 8, 8);
                bad[k + 1] = bad[k] + (w && (w % 8 || !pointer_into_anon(maps, n, w, TC_LEAF_BYTES)));
        }
        long found = -ENOENT;
        for (size_t p = 0; p + 8 <= len; p += 8) {
                uint64_t w;
                memcpy(&w, data + p, 8);
                if (!w || w % 8 || !pointer_into_anon(maps, n, w, TC_LEAF_BYTES))
                        continue;
                for (size_t k = 0; k < n; k++) {
                        if (!anonymous(&maps[k]))
                                continue;
                        for (uint64_t i = maps[k].start >> TC_SLOT_SHIFT;
                             i <= (maps[k].end - 1) >> TC_SLOT_SHIFT && i < TC_ROOT_LEN; i++) {
                                if (p < i * 8)
                                        continue;
                                size_t off = p - i * 8;
                                if (off + TC_ROOT_BYTES > len || (long) off == found || off % 8 ||
                                    bad[(off + TC_ROOT_BYTES) / 8] != bad[off / 8])
                                        continue;
                                if (!root_checks_out(data, off, maps, n) || !leaf_checks_out(mem, i, w, leaf))
                                        continue;
                                if (found >= 0)
                                        return -EPROTO;
                                found = (long) off;
                        }
                }
                if (found >= 0)
                        return found;
        }
        return found;
}

/* The size class table: int32 class_to_size_[128] starting 0, 8, 16, 32,
 * 48, 64, increasing while non-zero, then class_to_pages_. */
static bool find_classes(const uint8_t *data, size_t len, uint32_t *sizes, uint64_t *pages)
{
        static const int32_t start[] = { 0, 8, 16, 32, 48, 64, 80, 96, 112, 128 };
        size_t need = TC_CLASSES * 4 + TC_CLASSES * 8;
        long found = -1;
        for (size_t p = 0; p + need <= len; p += 4) {
                if (memcmp(data + p, start, sizeof start) != 0)
                        continue;
                if (found >= 0)
                        return false;   /* two: cannot tell */
                found = (long) p;
        }
        if (found < 0)
                return false;
        memcpy(sizes, data + found, TC_CLASSES * 4);
        size_t pages_off = ((size_t) found + TC_CLASSES * 4 + 7) / 8 * 8;
        if (pages_off + TC_CLASSES * 8 > len)
                return false;
        memcpy(pages, data + pages_off, TC_CLASSES * 8);
        for (unsigned c = 1; c < TC_CLASSES; c++) {
                if (sizes[c] == 0)
                        break;
                if (sizes[c] <= sizes[c - 1] || sizes[c] % 8 || pages[c] == 0 || pages[c] > 128 ||
                    pages[c] * TC_PAGE < sizes[c])
                        return false;
        }
        return true;
}

static int cmp_run(const void *a, const void *b)
{
        const struct heap_object_run *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

int heap_tcmalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note)
{
        uint64_t d0, d1;
        int r = heap_library_data(maps, n_maps, is_tcmalloc, &d0, &d1);
        if (r < 0)
                return r;
        if (!version_ok(mem, maps, n_maps)) {
                *ret_note = "the process uses a tcmalloc other than gperftools 2.10, whose heap layout leakscan does not know";
                return -EPROTO;
        }
        if (d1 - d0 > (64u << 20)) {
                *ret_note = "tcmalloc's data is larger than gperftools 2.10's: its layout is not known";
                return -EPROTO;
        }
        size_t len = (size_t) (d1 - d0);
        _cleanup_free_ uint8_t *data = malloc(len);
        if (!data)
                return -ENOMEM;
        r = heap_read_touched(mem, d0, data, len, NULL);
        if (r < 0)
                return r;
        uint32_t sizes[TC_CLASSES];
        uint64_t pages[TC_CLASSES];
        if (!find_classes(data, len, sizes, pages)) {
                *ret_note = "tcmalloc 2.10's size classes were not found in its data";
                return -EPROTO;
        }
        long root = find_root(mem, data, len, maps, n_maps);
        if (root == -ENOMEM)
                return -ENOMEM;
        if (root < 0) {
                *ret_note = "tcmalloc 2.10's page map was not found in its data";
                return -EPROTO;
        }

        /* every span the map names, once, with its first page */
        uint64_t *spans = NULL;
        size_t n_spans = 0, cap = 0;
        _cleanup_free_ uint8_t *leaf = malloc(TC_LEAF_BYTES);
        if (!leaf)
                return -ENOMEM;
        for (uint64_t i = 0; i < TC_ROOT_LEN && r == 0; i++) {
                uint64_t lp;
                memcpy(&lp, data + root + i * 8, 8);
                if (!lp)
                        continue;
                r = heap_read_touched(mem, lp, leaf, TC_LEAF_BYTES, NULL);
                uint64_t prev = 0;
                for (uint64_t j = 0; r == 0 && j < TC_LEAF_LEN; j++) {
                        uint64_t sp;
                        memcpy(&sp, leaf + j * 8, 8);
                        if (!sp || sp == prev)
                                continue;
                        prev = sp;
                        if (grow_array(&spans, &cap, n_spans + 1, sizeof *spans) < 0)
                                r = -ENOMEM;
                        else
                                spans[n_spans++] = sp;
                }
        }
        struct span *info = r == 0 ? calloc(n_spans + 1, sizeof *info) : NULL;
        if (r == 0 && !info)
                r = -ENOMEM;
        if (r == 0)
                r = read_spans(mem, spans, n_spans, info);
        struct heap_layout l = {0};
        size_t cap_runs = 0;
        for (size_t k = 0; k < n_spans && r == 0; k++) {
                const struct span *s = &info[k];
                if (k > 0 && spans[k] == spans[k - 1])
                        continue;
                uint64_t start = s->start << TC_PAGE_SHIFT, size = s->length << TC_PAGE_SHIFT;
                uint64_t object = size;
                bool ok = s->length > 0 && s->start < (1ull << 35) && s->sizeclass < TC_CLASSES;
                if (ok && s->sizeclass > 0 && s->location == 0) {
                        ok = sizes[s->sizeclass] > 0 && pages[s->sizeclass] == s->length;
                        object = sizes[s->sizeclass];
                }
                if (!ok) {
                        *ret_note = "tcmalloc's spans do not check out as gperftools 2.10's (or changed during the scan)";
                        r = -EAGAIN;
                        break;
                }
                if (grow_array(&l.runs, &cap_runs, l.n_runs + 1, sizeof *l.runs) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* a free span too: one object, marked only if pointed at
                 * (its stale contents are no root) */
                l.runs[l.n_runs++] = (struct heap_object_run) { start, start + size, object };
        }
        free(spans);
        free(info);
        if (r < 0) {
                heap_layout_done(&l);
                return r;
        }
        /* sort, and drop the same span seen from two leaves */
        if (l.n_runs) {
                qsort(l.runs, l.n_runs, sizeof *l.runs, cmp_run);
                size_t m = 1;
                for (size_t i = 1; i < l.n_runs; i++) {
                        if (l.runs[i].start == l.runs[m - 1].start && l.runs[i].end == l.runs[m - 1].end)
                                continue;
                        if (l.runs[i].start < l.runs[m - 1].end) {
                                *ret_note = "tcmalloc's spans overlap: not gperftools 2.10's layout, or it changed during the scan";
                                heap_layout_done(&l);
                                return -EAGAIN;
                        }
                        l.runs[m++] = l.runs[i];
                }
                l.n_runs = m;
        }
        *ret = l;
        return 0;
}
