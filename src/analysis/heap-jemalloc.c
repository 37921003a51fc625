/* jemalloc 5.3 heap walk; see heap-jemalloc.h.
 *
 * x86_64 jemalloc 5.3 keeps every extent it manages in a two-level radix
 * tree (emap's rtree, LG_VADDR 48, pages of 4 KiB): a root of 2^18 pointers
 * embedded in libjemalloc's .bss (2 MiB of it), indexed by address bits
 * 47..30, each to a leaf of 2^18 words indexed by bits 29..12.  A leaf word
 * packs szind << 48 | edata_t address | flags in the low bits the edata's
 * 64-byte alignment leaves free (slab 1, is_head 2, the extent's state).  An edata_t starts with
 * e_bits, e_addr (the extent), e_size_esn (its size in the bits above the
 * page offset).  A slab registers each of its pages, a large extent at
 * least its first and last.  The root's place in .bss differs per build:
 * it is found as the one place where every non-zero word points at a leaf
 * that covers memory the process maps.
 *
 * Region sizes are jemalloc's small size classes for a 16-byte quantum and
 * 4 KiB pages: 8, 16 to 128 by 16, then four classes per doubling up to
 * 14336 (szind 0 to 35).  A slab whose size is not a multiple of its
 * class's, an edata whose extent does not cover the pages that name it, a
 * szind past the table: the layout is not the one we know, and the walk
 * gives up rather than guess. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "heap-jemalloc.h"
#include "util.h"

#define JE_PAGE 4096ull
#define JE_LEVEL_BITS 18
#define JE_FANOUT (1ull << JE_LEVEL_BITS)
#define JE_ROOT_BYTES (JE_FANOUT * 8)
#define JE_LEAF_BYTES (JE_FANOUT * 8)
#define JE_NBINS 36             /* small size classes: slabs */
#define JE_NSIZES 232           /* every size class; SC_NSIZES marks none */
#define READ_CHUNK (1u << 20)
#define BATCH 1024              /* IOV_MAX */

void heap_layout_done(struct heap_layout *l)
{
        free(l->runs);
        free(l->meta);
        free(l->skip);
        *l = (struct heap_layout) {0};
}

static uint64_t je_small_size(unsigned szind)
{
        if (szind == 0)
                return 8;
        if (szind <= 8)
                return 16ull * szind;
        unsigned g = (szind - 9) / 4, k = (szind - 9) % 4 + 1;
        uint64_t base = 128ull << g;
        return base + k * (base / 4);
}

static int read_exact(const struct reach_memory *mem, uint64_t addr, void *buf, size_t len)
{
        struct iovec local = { buf, len }, remote = { (void *) (uintptr_t) addr, len };
        ssize_t got = mem->read(mem->userdata, &local, &remote, 1);
        return got == (ssize_t) len ? 0 : -EIO;
}

int heap_library_data(const struct map_entry *maps, size_t n_maps, bool (*is_library)(const struct map_entry *),
                      uint64_t *ret_start, uint64_t *ret_end)
{
        uint64_t d0 = 0, d1 = 0;
        for (size_t i = 0; i < n_maps; i++) {
                if (!is_library(&maps[i]) || maps[i].perms[1] != 'w')
                        continue;
                if (!d0)
                        d0 = maps[i].start;
                d1 = maps[i].end;
                for (size_t k = i + 1; k < n_maps && maps[k].start == d1 && maps[k].path[0] == 0 &&
                                       maps[k].perms[1] == 'w'; k++)
                        d1 = maps[k].end;
        }
        if (!d0)
                return -ENOENT;
        *ret_start = d0;
        *ret_end = d1;
        return 0;
}

int heap_read_touched(const struct reach_memory *mem, uint64_t addr, uint8_t *buf, size_t len,
                      bool *ret_first_touched)
{
        size_t pages = len / JE_PAGE;
        _cleanup_free_ bool *touched = NULL;
        if (mem->touched && addr % JE_PAGE == 0 && len % JE_PAGE == 0) {
                touched = malloc(pages);
                if (!touched)
                        return -ENOMEM;
                if (mem->touched(mem->userdata, addr, pages, touched) < 0) {
                        free(touched);
                        touched = NULL;
                }
        }
        if (ret_first_touched)
                *ret_first_touched = !touched || !pages || touched[0];
        for (size_t off = 0; off < len; ) {
                size_t k = len - off < READ_CHUNK ? len - off : READ_CHUNK;
                if (touched) {
                        size_t p = off / JE_PAGE;
                        if (!touched[p]) {
                                memset(buf + off, 0, JE_PAGE);
                                off += JE_PAGE;
                                continue;
                        }
                        size_t run = 1;
                        while (p + run < pages && touched[p + run] && run * JE_PAGE < READ_CHUNK)
                                run++;
                        k = run * JE_PAGE;
                }
                int r = read_exact(mem, addr + off, buf + off, k);
                if (r < 0)
                        return r;
                off += k;
        }
        return 0;
}

static bool is_jemalloc(const struct map_entry *m)
{
        const char *base = strrchr(m->path, '/');
        return base && startswith(base + 1, "libjemalloc.so");
}

static bool anonymous(const struct map_entry *m)
{
        return m->path[0] == 0 || startswith(m->path, "[anon");
}

/* Whether the library's read-only data names version 5.3: its version
 * string "5.3.0-0-g<commit>" sits there. */
static int jemalloc_version_ok(const struct reach_memory *mem, const struct map_entry *maps, size_t n,
                               bool *ret)
{
        static const char want[] = "5.3.";
        *ret = false;
        for (size_t i = 0; i < n && !*ret; i++) {
                const struct map_entry *m = &maps[i];
                if (!is_jemalloc(m) || m->perms[0] != 'r' || m->perms[1] == 'w' || m->perms[2] == 'x')
                        continue;
                size_t len = (size_t) (m->end - m->start);
                if (len > (64u << 20))
                        continue;
                _cleanup_free_ char *buf = malloc(len + 1);
                if (!buf)
                        return -ENOMEM;
                if (read_exact(mem, m->start, buf, len) < 0)
                        continue;
                buf[len] = 0;
                /* JEMALLOC_VERSION: "MAJOR.MINOR.BUGFIX-NREV-gHASH", alone
                 * between NULs */
                for (size_t k = 1; k + 12 < len && !*ret; k++) {
                        if (buf[k - 1] != 0 || memcmp(buf + k, want, sizeof want - 1) != 0)
                                continue;
                        const char *dash = memchr(buf + k, '-', 12);
                        *ret = dash && dash[1] >= '0' && dash[1] <= '9' && strstr(dash, "-g") != NULL;
                }
        }
        return 0;
}

static bool pointer_into_anon(const struct map_entry *maps, size_t n, uint64_t p, uint64_t room)
{
        const struct map_entry *m = map_entries_find(maps, n, p);
        return m && anonymous(m) && m->perms[0] == 'r' && m->end - p >= room;
}

/* Whether some anonymous mapping overlaps the 1 GiB that root slot i covers. */
static bool slot_mapped(const struct map_entry *maps, size_t n, uint64_t i)
{
        uint64_t lo = i << 30, hi = (i + 1) << 30;
        for (size_t k = 0; k < n; k++)
                if (maps[k].start < hi && maps[k].end > lo && anonymous(&maps[k]))
                        return true;
        return false;
}

/* A root candidate at byte offset off of data (the module's writable
 * memory, len bytes at base): every non-zero slot points at a leaf in
 * anonymous memory and covers mapped memory; at least one does. */
static bool root_checks_out(const uint8_t *data, size_t off, const struct map_entry *maps, size_t n)
{
        size_t used = 0;
        for (uint64_t i = 0; i < JE_FANOUT; i++) {
                uint64_t w;
                memcpy(&w, data + off + i * 8, 8);
                if (!w)
                        continue;
                if (w % 8 || !pointer_into_anon(maps, n, w, JE_LEAF_BYTES) || !slot_mapped(maps, n, i))
                        return false;
                used++;
        }
        return used > 0;
}

/* Whether the leaf at leaf_addr is the one of root slot i: its first
 * registered pages name edata whose extents cover them.  buf: room for a
 * leaf. */
static bool leaf_checks_out(const struct reach_memory *mem, uint64_t i, uint64_t leaf_addr, uint8_t *buf)
{
        if (heap_read_touched(mem, leaf_addr, buf, JE_LEAF_BYTES, NULL) < 0)
                return false;
        unsigned seen = 0;
        for (uint64_t j = 0; j < JE_FANOUT && seen < 4; j++) {
                uint64_t bits;
                memcpy(&bits, buf + j * 8, 8);
                uint64_t edata = (uint64_t) ((int64_t) (bits << 16) >> 16) & ~0x3full;
                if (!edata)
                        continue;
                uint64_t hdr[3];
                if (read_exact(mem, edata, hdr, sizeof hdr) < 0)
                        return false;
                uint64_t page = (i << 30) | (j << 12), start = hdr[1] & ~(JE_PAGE - 1);
                uint64_t size = hdr[2] & ~(JE_PAGE - 1);
                if (page < start || page >= start + size)
                        return false;
                seen++;
        }
        return seen > 0;
}

/* Finds the root in the module's writable memory [base, base + len) read
 * into data.  Returns its offset, or -ENOENT (none), -EPROTO (several), or
 * -ENOMEM. */
static long find_root(const struct reach_memory *mem, const uint8_t *data, size_t len,
                      const struct map_entry *maps, size_t n)
{
        if (len < JE_ROOT_BYTES)
                return -ENOENT;
        _cleanup_free_ uint8_t *leaf = malloc(JE_LEAF_BYTES);
        if (!leaf)
                return -ENOMEM;
        long found = -ENOENT;
        /* a slot holding a leaf pointer, for each slot index that covers
         * mapped memory, places the root */
        for (size_t p = 0; p + 8 <= len; p += 8) {
                uint64_t w;
                memcpy(&w, data + p, 8);
                if (!w || w % 8 || !pointer_into_anon(maps, n, w, JE_LEAF_BYTES))
                        continue;
                for (size_t k = 0; k < n; k++) {
                        if (!anonymous(&maps[k]))
                                continue;
                        for (uint64_t i = maps[k].start >> 30; i <= (maps[k].end - 1) >> 30 && i < JE_FANOUT; i++) {
                                if (p < i * 8)
                                        continue;
                                size_t off = p - i * 8;
                                if (off + JE_ROOT_BYTES > len || (long) off == found)
                                        continue;
                                if (!root_checks_out(data, off, maps, n) || !leaf_checks_out(mem, i, w, leaf))
                                        continue;
                                if (found >= 0)
                                        return -EPROTO;
                                found = (long) off;
                        }
                }
                if (found >= 0)
                        return found;   /* the first slot in use fixes it */
        }
        return found;
}

struct leaf_entry {
        uint64_t page, edata;
        unsigned szind;
        bool slab;
};

static int cmp_entry(const void *a, const void *b)
{
        const struct leaf_entry *x = a, *y = b;
        if (x->edata != y->edata)
                return x->edata < y->edata ? -1 : 1;
        return x->page < y->page ? -1 : x->page > y->page;
}

static int cmp_run(const void *a, const void *b)
{
        const struct heap_object_run *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

int heap_jemalloc_walk(const struct reach_memory *mem, const struct map_entry *maps, size_t n_maps,
                       struct heap_layout *ret, const char **ret_note)
{
        /* the library's writable data, and the bss after it */
        uint64_t d0, d1;
        int r = heap_library_data(maps, n_maps, is_jemalloc, &d0, &d1);
        if (r < 0)
                return r;
        bool version_ok;
        r = jemalloc_version_ok(mem, maps, n_maps, &version_ok);
        if (r < 0)
                return r;
        if (!version_ok) {
                *ret_note = "the process uses a jemalloc other than 5.3, whose heap layout leakscan does not know";
                return -EPROTO;
        }
        if (d1 - d0 > (64u << 20)) {
                *ret_note = "jemalloc's data is larger than jemalloc 5.3's: its layout is not known";
                return -EPROTO;
        }
        size_t len = (size_t) (d1 - d0);
        _cleanup_free_ uint8_t *data = malloc(len);
        if (!data)
                return -ENOMEM;
        r = heap_read_touched(mem, d0, data, len, NULL);
        if (r < 0)
                return r;
        long root = find_root(mem, data, len, maps, n_maps);
        if (root == -ENOMEM)
                return -ENOMEM;
        if (root < 0) {
                *ret_note = root == -EPROTO ? "jemalloc 5.3's radix tree could not be told apart in its data" :
                                              "jemalloc 5.3's radix tree was not found in its data";
                return -EPROTO;
        }

        /* every registered page */
        struct leaf_entry *entries = NULL;
        size_t n_entries = 0, cap = 0;
        _cleanup_free_ uint8_t *leaf = malloc(JE_LEAF_BYTES);
        if (!leaf)
                return -ENOMEM;
        for (uint64_t i = 0; i < JE_FANOUT && r == 0; i++) {
                uint64_t lp;
                memcpy(&lp, data + root + i * 8, 8);
                if (!lp)
                        continue;
                r = heap_read_touched(mem, lp, leaf, JE_LEAF_BYTES, NULL);
                for (uint64_t j = 0; r == 0 && j < JE_FANOUT; j++) {
                        uint64_t bits;
                        memcpy(&bits, leaf + j * 8, 8);
                        if (!bits)
                                continue;
                        /* sign-extend the 48-bit edata address, drop the
                         * low bits: slab, is_head and the extent's state
                         * (an edata_t is cache-line aligned) */
                        uint64_t edata = (uint64_t) ((int64_t) (bits << 16) >> 16) & ~0x3full;
                        unsigned szind = (unsigned) (bits >> 48);
                        if (!edata)
                                continue;       /* cleared: no extent */
                        if (grow_array(&entries, &cap, n_entries + 1, sizeof *entries) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        entries[n_entries++] = (struct leaf_entry) { (i << 30) | (j << 12), edata, szind, bits & 1 };
                }
        }
        if (r < 0) {
                free(entries);
                return r;
        }
        if (n_entries)
                qsort(entries, n_entries, sizeof *entries, cmp_entry);

        /* each edata's head (e_bits, e_addr, e_size_esn), read in batches */
        size_t n_edata = 0;
        for (size_t a = 0; a < n_entries; a++)
                n_edata += a == 0 || entries[a].edata != entries[a - 1].edata;
        uint64_t (*heads)[3] = calloc(n_edata + 1, sizeof *heads);
        if (!heads) {
                free(entries);
                return -ENOMEM;
        }
        {
                struct iovec local[BATCH], remote[BATCH];
                size_t k = 0, m = 0;
                for (size_t a = 0; a < n_entries && r == 0; a++) {
                        if (a > 0 && entries[a].edata == entries[a - 1].edata)
                                continue;
                        local[m] = (struct iovec) { heads[k++], sizeof *heads };
                        remote[m++] = (struct iovec) { (void *) (uintptr_t) entries[a].edata, sizeof *heads };
                        if (m == BATCH || k == n_edata) {
                                ssize_t got = mem->read(mem->userdata, local, remote, m);
                                r = got == (ssize_t) (m * sizeof *heads) ? 0 : -EIO;
                                m = 0;
                        }
                }
        }
        struct heap_layout l = {0};
        size_t cap_runs = 0, cap_meta = 0, e = 0;
        for (size_t a = 0; a < n_entries && r == 0; e++) {
                size_t b = a;
                while (b < n_entries && entries[b].edata == entries[a].edata)
                        b++;
                const uint64_t *hdr = heads[e];
                const struct leaf_entry *first = &entries[a], *last = &entries[b - 1];
                bool slab = first->slab;
                /* a large allocation starts at a random cache line of its
                 * first page (cache-oblivious), and e_addr says where */
                uint64_t start = slab ? hdr[1] : hdr[1] & ~(JE_PAGE - 1), size = hdr[2] & ~(JE_PAGE - 1);
                bool ok = start % JE_PAGE == 0 && size > 0 && start == first->page &&
                          last->page + JE_PAGE <= start + size && first->szind <= JE_NSIZES;
                /* a slab's pages all carry its class; a large extent's
                         * last page none (SC_NSIZES) */
                for (size_t k = a; ok && k < b; k++)
                        ok = entries[k].slab == slab && (!slab || entries[k].szind == first->szind);
                uint64_t object = size;
                if (ok && slab) {
                        ok = first->szind < JE_NBINS && size % je_small_size(first->szind) == 0 &&
                             (b - a) * JE_PAGE == size;
                        object = ok ? je_small_size(first->szind) : 0;
                }
                if (!ok) {
                        *ret_note = "jemalloc's extents do not check out as jemalloc 5.3's (or changed during the scan)";
                        r = -EAGAIN;
                        break;
                }
                if (grow_array(&l.runs, &cap_runs, l.n_runs + 1, sizeof *l.runs) < 0 ||
                    grow_array(&l.meta, &cap_meta, l.n_meta + 1, sizeof *l.meta) < 0) {
                        r = -ENOMEM;
                        break;
                }
                l.runs[l.n_runs++] = (struct heap_object_run) { start, start + size, object };
                l.meta[l.n_meta++] = entries[a].edata + 8;      /* its e_addr */
                a = b;
        }
        free(entries);
        free(heads);
        if (r < 0) {
                heap_layout_done(&l);
                return r;
        }
        if (l.n_runs) {         /* qsort takes no NULL array, even empty */
                qsort(l.runs, l.n_runs, sizeof *l.runs, cmp_run);
                qsort(l.meta, l.n_meta, sizeof *l.meta, cmp_u64);
        }
        for (size_t i = 1; i < l.n_runs; i++)
                if (l.runs[i].start < l.runs[i - 1].end) {
                        *ret_note = "jemalloc's extents overlap: not jemalloc 5.3's layout, or it changed during the scan";
                        heap_layout_done(&l);
                        return -EAGAIN;
                }
        *ret = l;
        return 0;
}

/* ---- thread caches ----
 *
 * jemalloc 5.3's cache_bin_t (24 bytes): stack_head (the lowest cached
 * pointer), tstats.nrequests, then the low 16 bits of the low-water mark,
 * of the stack's full end (its lowest slot) and of its empty end (one past
 * its highest).  A thread's bins sit one after another in its TSD, and
 * their stacks one after another in one allocation: bin k's empty end is
 * bin k + 1's full end.  A run of such bins, all in one extent and chained
 * end to start, is told from data by that chain. */
#define CB_SIZE 24
#define CB_MIN_CHAIN 8
#define TLS_WINDOW (16u * 1024)

static const struct heap_object_run *run_of(const struct heap_layout *l, uint64_t addr)
{
        size_t lo = 0, hi = l->n_runs;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (addr < l->runs[mid].start)
                        hi = mid;
                else if (addr >= l->runs[mid].end)
                        lo = mid + 1;
                else
                        return &l->runs[mid];
        }
        return NULL;
}

/* The stack of the bin at rec: [*ret_full, *ret_empty), in one run. */
static bool cache_bin_at(const struct heap_layout *l, const uint8_t *rec, uint64_t *ret_full, uint64_t *ret_empty,
                         const struct heap_object_run **ret_run)
{
        uint64_t head;
        uint16_t full, empty;
        memcpy(&head, rec, 8);
        memcpy(&full, rec + 18, 2);
        memcpy(&empty, rec + 20, 2);
        if (!head || head % 8 || full % 8 || empty % 8)
                return false;
        const struct heap_object_run *run = run_of(l, head);
        if (!run)
                return false;
        uint64_t base = head & ~0xffffull;
        uint64_t f = base | full, e = base | empty;
        if (f > head)
                f -= 0x10000;
        if (e < head)
                e += 0x10000;
        if (f > head || e < head || e - f > 0xffff || f < run->start || e > run->end)
                return false;
        *ret_full = f;
        *ret_empty = e;
        *ret_run = run;
        return true;
}

static int add_skip(struct heap_layout *l, size_t *cap, uint64_t start, uint64_t end)
{
        if (grow_array(&l->skip, cap, l->n_skip + 1, sizeof *l->skip) < 0)
                return -ENOMEM;
        l->skip[l->n_skip++] = (struct heap_skip) { start, end };
        return 0;
}

static int cmp_skip(const void *a, const void *b)
{
        const struct heap_skip *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

int heap_jemalloc_tcaches(const struct reach_memory *mem, const uint64_t *tls, size_t n, struct heap_layout *l)
{
        size_t cap = l->n_skip;
        _cleanup_free_ uint8_t *buf = malloc(TLS_WINDOW);
        if (!buf)
                return -ENOMEM;
        for (size_t t = 0; t < n; t++) {
                if (!tls[t] || tls[t] < TLS_WINDOW)
                        continue;
                /* the static TLS below the thread pointer, as much of the
                 * window as is mapped (the main thread's is a small mapping
                 * of its own); what is not read is not skipped, only kept */
                size_t win = TLS_WINDOW, page_off = (size_t) (tls[t] % 4096);
                while (win > 4096 && read_exact(mem, tls[t] - win, buf, win) < 0)
                        win = win / 2 > page_off ? win / 2 : page_off;
                if (read_exact(mem, tls[t] - win, buf, win) < 0)
                        continue;
                for (size_t o = 0; o + CB_SIZE * CB_MIN_CHAIN <= win; o += 8) {
                        uint64_t f0, e, f, e_prev;
                        const struct heap_object_run *run0, *run;
                        if (!cache_bin_at(l, buf + o, &f0, &e_prev, &run0))
                                continue;
                        size_t k = 1;
                        while (o + CB_SIZE * (k + 1) <= win &&
                               cache_bin_at(l, buf + o + CB_SIZE * k, &f, &e, &run) && run == run0 && f == e_prev) {
                                e_prev = e;
                                k++;
                        }
                        if (k < CB_MIN_CHAIN)
                                continue;
                        int r = add_skip(l, &cap, f0, e_prev);
                        if (r < 0)
                                return r;
                        o += CB_SIZE * k - 8;
                }
        }
        if (l->n_skip)
                qsort(l->skip, l->n_skip, sizeof *l->skip, cmp_skip);
        /* merge overlaps (a thread seen twice) */
        size_t m = 0;
        for (size_t i = 0; i < l->n_skip; i++) {
                if (m && l->skip[i].start <= l->skip[m - 1].end) {
                        if (l->skip[i].end > l->skip[m - 1].end)
                                l->skip[m - 1].end = l->skip[i].end;
                } else
                        l->skip[m++] = l->skip[i];
        }
        l->n_skip = m;
        return 0;
}
