/* Reachability scan; see reach.h for the model.  Other allocators' objects
 * come from heap-jemalloc.c, heap-tcmalloc.c and heap-mimalloc.c as runs of
 * plain objects (arenas without glibc's header).  The heap side follows
 * x86_64 glibc malloc (2.26 and later; docs/wait-for.md "Reachability"):
 * a chunk is 16-byte aligned, its size word (8 bytes in) carries the flags
 * PREV_INUSE 1, IS_MMAPPED 2, NON_MAIN_ARENA 4, and whether a chunk is in
 * use is the next chunk's PREV_INUSE bit.  Chunks tile the main arena's
 * [heap] and each heap of another arena (a 64 MiB-aligned mapping that starts
 * with a heap_info); large chunks are mappings of their own.
 *
 * Memory cost: one bit per 16 heap bytes for chunk starts, one for marks and
 * one for free chunks (3/128 of the heap), plus a read buffer; the target's
 * memory is read in batches (process_vm_readv with up to 1024 ranges), never
 * copied whole. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "heap-jemalloc.h"
#include "heap-mimalloc.h"
#include "heap-tcmalloc.h"
#include "procfs.h"
#include "reach.h"
#include "util.h"

#define GRANULE 16u
#define CHUNK_HDR 16u
#define MIN_CHUNK 32u
#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define SIZE_MASK (~(uint64_t) 7)
#define HEAP_ALIGN (64ull << 20)        /* non-main arenas' heaps: HEAP_MAX_SIZE */
#define RED_ZONE 128u                   /* below SP, still the thread's own */
#define BATCH_RANGES 1024               /* IOV_MAX */
#define BATCH_BYTES (1u << 20)
#define DRAIN_RANGES 4096
#define PAGE 4096u
#define SMALL_MAX (16u * 1024)          /* larger ranges bypass the page cache */
#define MISS_PAGES 256                  /* pages read per batch: BATCH_BYTES */
#define CACHE_PAGES 2048                /* 8 MiB of cached target pages */
#define WALK_BLOCK (1u << 20)

const char *leakscan_reach_to_string(enum leakscan_reach reach)
{
        static const char *const names[_LEAKSCAN_REACH_MAX] = {
                [LEAKSCAN_REACH_NONE] = "none",
                [LEAKSCAN_REACH_UNKNOWN] = "unknown",
                [LEAKSCAN_REACH_REACHABLE] = "reachable",
                [LEAKSCAN_REACH_UNREACHABLE] = "unreachable",
        };
        return (unsigned) reach < _LEAKSCAN_REACH_MAX ? names[reach] : "unknown";
}

/* Any futex wait but a join (whose waiter depends on the joined thread,
 * not on who reaches the word): whichever library made the primitive (glibc,
 * Rust's std, a hand-made futex), a waiter whose word nobody able to run
 * can reach is woken by nobody. */
static bool is_object_wait(enum leakscan_state s)
{
        return s == LEAKSCAN_STATE_MUTEX || s == LEAKSCAN_STATE_CONDVAR || s == LEAKSCAN_STATE_RWLOCK ||
               s == LEAKSCAN_STATE_SEMAPHORE || s == LEAKSCAN_STATE_BARRIER || s == LEAKSCAN_STATE_FUTEX ||
               s == LEAKSCAN_STATE_CHANNEL_RECV || s == LEAKSCAN_STATE_CHANNEL_SEND || s == LEAKSCAN_STATE_PARK;
}

bool reach_is_candidate(const struct leakscan_thread *t)
{
        return t->proposed == LEAKSCAN_VERDICT_BLOCKED && is_object_wait(t->state) && t->has_wait_address;
}

static bool is_stuck(const struct leakscan_thread *t)
{
        return t->proposed == LEAKSCAN_VERDICT_DEADLOCK || t->proposed == LEAKSCAN_VERDICT_ORPHANED;
}

/* ---- bitmaps over 16-byte granules ---- */

static inline void bit_set(uint64_t *b, size_t i) { b[i / 64] |= 1ull << (i % 64); }
static inline bool bit_get(const uint64_t *b, size_t i) { return b[i / 64] >> (i % 64) & 1; }

/* The highest set bit at or below i, or SIZE_MAX. */
static size_t bit_prev(const uint64_t *b, size_t i)
{
        size_t w = i / 64;
        uint64_t m = b[w] & (i % 64 == 63 ? ~0ull : (2ull << (i % 64)) - 1);
        for (;;) {
                if (m)
                        return w * 64 + 63 - (size_t) __builtin_clzll(m);
                if (w == 0)
                        return SIZE_MAX;
                m = b[--w];
        }
}

/* The lowest set bit above i, or n. */
static size_t bit_next(const uint64_t *b, size_t i, size_t n)
{
        i++;
        if (i >= n)
                return n;
        size_t w = i / 64;
        uint64_t m = b[w] & ~((1ull << (i % 64)) - 1);
        size_t nw = (n + 63) / 64;
        for (;;) {
                if (m) {
                        size_t r = w * 64 + (size_t) __builtin_ctzll(m);
                        return r < n ? r : n;
                }
                if (++w >= nw)
                        return n;
                m = b[w];
        }
}

/* ---- the scan's state ---- */

struct arena {          /* chunks tile [first, end) */
        uint64_t first, end;
        size_t n_granules;
        uint64_t *starts, *marks, *frees;
        bool plain;             /* objects without glibc's header: another
                                 * allocator's regions, [start, next start) */
};

struct mmchunk {
        uint64_t chunk, size;
        bool marked;
};

struct frames {         /* a thread's stack that is no root, cut into frames */
        size_t thread;
        uint64_t *bounds;       /* n + 1 ascending addresses */
        size_t n;
        bool *marked;
};

enum target_kind { TARGET_ARENA, TARGET_MMAPPED, TARGET_FRAMES };

struct target {
        uint64_t start, end;
        enum target_kind kind;
        size_t index;
};

struct range {
        uint64_t start, end;
};

struct thread_info {
        uint64_t sp;
        const struct map_entry *stack;  /* the mapping of sp, when it is a stack */
        uint64_t top;                   /* where the thread's own part of that mapping ends */
        bool live, can_wake;            /* a root now; may become one */
        long frames;                    /* index in scan.frames, or -1 */
};

struct scan {
        const struct reach_input *in;
        const struct leakscan_process *p;
        struct map_entry *maps;
        size_t n_maps;
        unsigned char *map_kind;        /* per mapping: enum map_kind */
        struct arena *arenas;
        size_t n_arenas;
        struct mmchunk *mm;
        size_t n_mm;
        struct frames *frames;
        size_t n_frames;
        struct target *targets;
        size_t n_targets;
        uint64_t lo, hi;
        struct range *roots;
        size_t n_roots;
        struct range *work;
        size_t n_work, cap_work;
        struct thread_info *threads;
        uint8_t *buf;
        struct range *batch, *reads;    /* drain's scratch: 2 * DRAIN_RANGES, DRAIN_RANGES */
        uint64_t *pages;                /* MISS_PAGES */
        uint8_t *cache;                 /* CACHE_PAGES pages of the target */
        uint64_t *cache_tag;            /* page number + 1 of each, 0: empty */
        uint64_t scanned;
        bool over_limit, read_failed, lost_stack;
        bool heap_unwalkable;
        struct heap_layout other;       /* another allocator's objects (jemalloc) */
        struct reach_stats st;
};

enum map_kind {
        MAP_SKIP,       /* unreadable, code, read-only file data, kernel pages */
        MAP_MODULE,     /* a module's writable data or the bss after it: a root */
        MAP_ROOT,       /* other memory that could hold pointers: a root */
        MAP_HEAP,       /* chunks of a malloc heap, walked */
        MAP_MMAPPED,    /* mmapped malloc chunks, end to end */
        MAP_STACK,      /* some thread's stack */
};

static int push_work(struct scan *s, uint64_t start, uint64_t end)
{
        if (end <= start)
                return 0;
        if (grow_array(&s->work, &s->cap_work, s->n_work + 1, sizeof *s->work) < 0)
                return -ENOMEM;
        s->work[s->n_work++] = (struct range) { start, end };
        return 0;
}

/* Reads n ranges into consecutive parts of out (at most BATCH_RANGES
 * per system call), counting them against the limit.  Returns 0, or -E2BIG
 * past the limit, or -EIO when a range could not be read (a failed read
 * means the memory changed under us: give up, since what was there may have
 * held the only pointer). */
static int read_ranges(struct scan *s, const struct range *r, size_t n, uint8_t *out)
{
        struct iovec local[BATCH_RANGES], remote[BATCH_RANGES];
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += r[i].end - r[i].start;
        if (s->in->scan_limit && s->scanned + total > s->in->scan_limit) {
                s->over_limit = true;
                return -E2BIG;
        }
        s->scanned += total;
        while (n > 0) {
                size_t m = n < BATCH_RANGES ? n : BATCH_RANGES, want = 0;
                for (size_t i = 0; i < m; i++) {
                        size_t len = (size_t) (r[i].end - r[i].start);
                        local[i] = (struct iovec) { out + want, len };
                        remote[i] = (struct iovec) { (void *) (uintptr_t) r[i].start, len };
                        want += len;
                }
                ssize_t got = s->in->mem.read(s->in->mem.userdata, local, remote, m);
                if (got < 0 || (size_t) got != want) {
                        /* a short read stops at a range that failed */
                        s->read_failed = true;
                        return -EIO;
                }
                out += want;
                r += m;
                n -= m;
        }
        return 0;
}

/* Adds [start, end) to the roots, without the pages the target never
 * wrote when the memory callback can tell. */
static int add_root(struct scan *s, uint64_t start, uint64_t end)
{
        static const size_t step = 4096;       /* pages per pagemap read */
        _cleanup_free_ bool *touched = NULL;
        for (uint64_t at = start; at < end; ) {
                uint64_t page = at / PAGE * PAGE;
                size_t n = (size_t) ((end - page + PAGE - 1) / PAGE);
                if (n > step)
                        n = step;
                bool all = true;
                if (s->in->mem.touched) {
                        if (!touched && !(touched = malloc(step * sizeof *touched)))
                                return -ENOMEM;
                        all = s->in->mem.touched(s->in->mem.userdata, page, n, touched) < 0;
                }
                for (size_t k = 0; k < n; ) {
                        if (!all && !touched[k]) {
                                k++;
                                continue;
                        }
                        size_t run = k;
                        while (run < n && (all || touched[run]))
                                run++;
                        uint64_t from = page + k * PAGE > at ? page + k * PAGE : at;
                        uint64_t to = page + run * PAGE < end ? page + run * PAGE : end;
                        struct range *x = realloc(s->roots, (s->n_roots + 1) * sizeof *x);
                        if (!x)
                                return -ENOMEM;
                        s->roots = x;
                        s->roots[s->n_roots++] = (struct range) { from, to };
                        k = run;
                }
                at = page + n * PAGE;
        }
        return 0;
}

/* ---- finding what a word points at ---- */

static const struct target *find_target(const struct scan *s, uint64_t addr)
{
        size_t lo = 0, hi = s->n_targets;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (addr < s->targets[mid].start)
                        hi = mid;
                else if (addr >= s->targets[mid].end)
                        lo = mid + 1;
                else
                        return &s->targets[mid];
        }
        return NULL;
}

/* The chunk of arena a holding addr: its granule index and end. */
static bool arena_chunk(const struct arena *a, uint64_t addr, size_t *ret_g, uint64_t *ret_end)
{
        size_t g = bit_prev(a->starts, (size_t) ((addr - a->first) / GRANULE));
        if (g == SIZE_MAX)
                return false;
        size_t next = bit_next(a->starts, g, a->n_granules);
        *ret_g = g;
        *ret_end = a->first + (uint64_t) next * GRANULE;
        return true;
}

static size_t frame_of(const struct frames *f, uint64_t addr)
{
        size_t k = 0;
        while (k + 1 < f->n && addr >= f->bounds[k + 1])
                k++;
        return k;
}

static int push_plain(struct scan *s, uint64_t start, uint64_t end);

/* Marks what word w points at, and queues it for scanning. */
static int mark_word(struct scan *s, uint64_t w)
{
        if (w < s->lo || w >= s->hi)
                return 0;
        const struct target *t = find_target(s, w);
        if (!t)
                return 0;
        switch (t->kind) {
        case TARGET_ARENA: {
                struct arena *a = &s->arenas[t->index];
                size_t g;
                uint64_t end;
                if (!arena_chunk(a, w, &g, &end) || bit_get(a->marks, g))
                        return 0;
                bit_set(a->marks, g);
                s->st.n_marked++;
                if (bit_get(a->frees, g))
                        return 0;
                uint64_t c = a->first + (uint64_t) g * GRANULE;
                if (a->plain)
                        return push_plain(s, c, end);
                /* an in-use chunk's data runs into the next one's prev_size */
                uint64_t data_end = end + 8 <= a->end ? end + 8 : a->end;
                return push_work(s, c + CHUNK_HDR, data_end);
        }
        case TARGET_MMAPPED: {
                struct mmchunk *m = &s->mm[t->index];
                if (m->marked)
                        return 0;
                m->marked = true;
                s->st.n_marked++;
                return push_work(s, m->chunk + CHUNK_HDR, m->chunk + m->size);
        }
        case TARGET_FRAMES: {
                struct frames *f = &s->frames[t->index];
                if (s->threads[f->thread].live)
                        return 0;       /* its whole stack is scanned already */
                size_t k = frame_of(f, w);
                if (f->marked[k])
                        return 0;
                f->marked[k] = true;
                return push_work(s, f->bounds[k], f->bounds[k + 1]);
        }
        }
        return 0;
}

/* Scans the aligned words of buf (a conservative collector's rule).  A word
 * whose top 16 bits are set counts by its low 48 bits: lock-free code
 * keeps ABA counters there (boost::lockfree's tagged pointers), and x86_64
 * user addresses have those bits clear. */
static int scan_words(struct scan *s, const uint8_t *buf, uint64_t addr, size_t len)
{
        size_t skip = (size_t) ((8 - addr % 8) % 8);
        for (size_t off = skip; off + 8 <= len; off += 8) {
                uint64_t w;
                memcpy(&w, buf + off, 8);
                w = w >> 48 ? w & ((1ull << 48) - 1) : w;
                if (w < s->lo || w >= s->hi)
                        continue;
                int r = mark_word(s, w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_range(const void *a, const void *b)
{
        const struct range *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Large ranges (roots, big chunks, frames): read directly, in batches of
 * sorted ranges, those close together read as one (the bytes between are
 * read, not scanned). */
static int scan_large(struct scan *s, struct range *batch, size_t n)
{
        static const uint64_t gap = 1024;
        struct range *reads = s->reads;
        qsort(batch, n, sizeof *batch, cmp_range);
        size_t m = 0;
        uint64_t gaps = 0;
        for (size_t i = 0; i < n; i++) {
                struct range *last = m > 0 ? &reads[m - 1] : NULL;
                if (last && batch[i].start < last->end) {      /* overlaps */
                        if (batch[i].end > last->end)
                                last->end = batch[i].end;
                        continue;
                }
                uint64_t between = last ? batch[i].start - last->end : UINT64_MAX;
                if (between <= gap && gaps + between <= BATCH_BYTES / 2) {
                        gaps += between;
                        last->end = batch[i].end;
                        continue;
                }
                reads[m++] = batch[i];
        }
        int r = read_ranges(s, reads, m, s->buf);
        size_t k = 0, off = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                while (batch[i].start >= reads[k].end) {
                        off += (size_t) (reads[k].end - reads[k].start);
                        k++;
                }
                r = scan_words(s, s->buf + off + (batch[i].start - reads[k].start), batch[i].start,
                               (size_t) (batch[i].end - batch[i].start));
        }
        return r;
}

/* The cached copy of page pg, or NULL. */
static const uint8_t *cache_page(const struct scan *s, uint64_t pg)
{
        size_t slot = (size_t) (pg % CACHE_PAGES);
        return s->cache_tag[slot] == pg + 1 ? s->cache + slot * PAGE : NULL;
}

/* Small ranges (malloc chunks): read by whole pages through a cache, since
 * marking walks chains of neighbouring chunks (lists, trees built in
 * order), one chunk found per chunk scanned.  pages[]: the n_pages pages
 * missing from the cache, sorted, read into s->buf. */
static int scan_small(struct scan *s, const struct range *batch, size_t n, uint64_t *pages, size_t n_pages)
{
        struct range *reads = s->reads;
        size_t m = 0;
        for (size_t i = 0; i < n_pages; i++) {
                uint64_t a = pages[i] * PAGE;
                if (m > 0 && reads[m - 1].end == a)
                        reads[m - 1].end += PAGE;
                else
                        reads[m++] = (struct range) { a, a + PAGE };
        }
        int r = read_ranges(s, reads, m, s->buf);
        for (size_t i = 0; r == 0 && i < n; i++) {
                for (uint64_t a = batch[i].start; r == 0 && a < batch[i].end; ) {
                        uint64_t pg = a / PAGE, end = (pg + 1) * PAGE < batch[i].end ? (pg + 1) * PAGE : batch[i].end;
                        const uint8_t *page = NULL;
                        uint64_t *hit = bsearch(&pg, pages, n_pages, sizeof *pages, cmp_u64);
                        if (hit)
                                page = s->buf + (size_t) (hit - pages) * PAGE;
                        else
                                page = cache_page(s, pg);
                        r = scan_words(s, page + (a - pg * PAGE), a, (size_t) (end - a));
                        a = end;
                }
        }
        for (size_t i = 0; r == 0 && i < n_pages; i++) {
                size_t slot = (size_t) (pages[i] % CACHE_PAGES);
                memcpy(s->cache + slot * PAGE, s->buf + i * PAGE, PAGE);
                s->cache_tag[slot] = pages[i] + 1;
        }
        return r;
}

/* Scans everything queued, in batches.  Returns 0, -ENOMEM, or -E2BIG/-EIO
 * (then the answer is unknown). */
static int drain(struct scan *s)
{
        struct range *large = s->batch, *small = s->batch + DRAIN_RANGES;
        uint64_t *pages = s->pages;
        while (s->n_work > 0) {
                size_t n_large = 0, n_small = 0, n_pages = 0, bytes = 0;
                while (s->n_work > 0 && n_large < DRAIN_RANGES && n_small < DRAIN_RANGES &&
                       bytes < BATCH_BYTES / 2 && n_pages + SMALL_MAX / PAGE + 2 <= MISS_PAGES) {
                        struct range *w = &s->work[s->n_work - 1];
                        uint64_t len = w->end - w->start;
                        if (len > SMALL_MAX) {
                                if (len > BATCH_BYTES / 2 - bytes) {
                                        /* take a piece, leave the rest queued */
                                        uint64_t piece = BATCH_BYTES / 2 - bytes;
                                        large[n_large++] = (struct range) { w->start, w->start + piece };
                                        w->start += piece;
                                        break;
                                }
                                large[n_large++] = *w;
                                bytes += (size_t) len;
                        } else {
                                small[n_small++] = *w;
                                for (uint64_t pg = w->start / PAGE; pg * PAGE < w->end; pg++) {
                                        if (cache_page(s, pg))
                                                continue;
                                        bool dup = false;
                                        for (size_t k = n_pages; !dup && k-- > 0 && k + 4 >= n_pages; )
                                                dup = pages[k] == pg;
                                        if (!dup)
                                                pages[n_pages++] = pg;
                                }
                        }
                        s->n_work--;
                }
                int r = 0;
                if (n_small > 0) {
                        qsort(pages, n_pages, sizeof *pages, cmp_u64);
                        size_t u = 0;
                        for (size_t i = 0; i < n_pages; i++)
                                if (u == 0 || pages[u - 1] != pages[i])
                                        pages[u++] = pages[i];
                        r = scan_small(s, small, n_small, pages, u);
                }
                if (r == 0 && n_large > 0)
                        r = scan_large(s, large, n_large);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- walking malloc's chunks ---- */

/* Whether chunks start at off in buf (which holds [base, base + len) of a
 * heap ending at end): the first has PREV_INUSE, and up to 64 of them have
 * sizes that fit. */
static bool chunks_start_at(const uint8_t *buf, uint64_t base, size_t len, size_t off, uint64_t end)
{
        for (unsigned i = 0; i < 64; i++) {
                if (off + CHUNK_HDR > len)
                        return i > 0;
                uint64_t w;
                memcpy(&w, buf + off + 8, 8);
                uint64_t size = w & SIZE_MASK;
                if (i == 0 && !(w & PREV_INUSE))
                        return false;
                if (w & IS_MMAPPED)
                        return false;
                if (size == 0)
                        return i > 0 && end - (base + off) <= 64;
                if (size % GRANULE || size < MIN_CHUNK || base + off + size > end)
                        return false;
                off += (size_t) size;
                if (base + off == end)
                        return true;
        }
        return true;
}

/* Walks the chunks of [first, end) into a new arena.  Returns 0, -EINVAL
 * when they do not tile it, -ENOMEM, -E2BIG or -EIO. */
static int walk_arena(struct scan *s, uint64_t first, uint64_t end, struct arena *ret)
{
        struct arena a = { .first = first, .end = end, .n_granules = (size_t) ((end - first) / GRANULE) };
        size_t words = (a.n_granules + 63) / 64 + 1;
        a.starts = calloc(words, 8);
        a.marks = calloc(words, 8);
        a.frees = calloc(words, 8);
        int r = 0;
        if (!a.starts || !a.marks || !a.frees) {
                r = -ENOMEM;
                goto fail;
        }
        uint64_t blk = 0, blk_len = 0, c = first;
        long prev = -1;
        size_t n = 0;
        while (c < end) {
                if (c < blk || c + CHUNK_HDR > blk + blk_len) {
                        blk = c;
                        blk_len = end - c < WALK_BLOCK ? end - c : WALK_BLOCK;
                        if (blk_len < CHUNK_HDR) {
                                r = -EINVAL;
                                goto fail;
                        }
                        r = read_ranges(s, &(struct range) { blk, blk + blk_len }, 1, s->buf);
                        if (r < 0)
                                goto fail;
                }
                uint64_t w;
                memcpy(&w, s->buf + (c - blk) + 8, 8);
                uint64_t size = w & SIZE_MASK;
                if (prev >= 0 && !(w & PREV_INUSE))
                        bit_set(a.frees, (size_t) prev);
                if (size == 0 && end - c <= 64)
                        break;          /* a fencepost ends the heap */
                if (size % GRANULE || size < GRANULE || c + size > end || (w & IS_MMAPPED)) {
                        r = -EINVAL;
                        goto fail;
                }
                prev = (long) ((c - first) / GRANULE);
                bit_set(a.starts, (size_t) prev);
                n++;
                c += size;
        }
        if (prev >= 0 && c >= end)
                bit_set(a.frees, (size_t) prev);        /* the top chunk */
        s->st.n_chunks += n;
        s->st.heap_bytes += end - first;
        *ret = a;
        return 0;
fail:
        free(a.starts);
        free(a.marks);
        free(a.frees);
        return r;
}

static int add_arena(struct scan *s, const struct arena *a)
{
        struct arena *x = realloc(s->arenas, (s->n_arenas + 1) * sizeof *x);
        if (!x)
                return -ENOMEM;
        s->arenas = x;
        s->arenas[s->n_arenas++] = *a;
        return 0;
}

/* ---- another allocator's objects (heap-jemalloc.c) ---- */

/* Each run of s->other as an arena of plain objects: a slab's regions or a
 * page's blocks, or one large allocation.  Starts are kept per 16-byte
 * granule: objects of an odd multiple of 8 bytes go two to an object (a
 * pointer into either marks both: only ever more marked).  None counts as
 * free. */
static int add_plain_arenas(struct scan *s)
{
        for (size_t i = 0; i < s->other.n_runs; i++) {
                /* slabs of one size end to end are one arena: the same
                 * objects, a fraction of the bitmaps */
                struct heap_object_run merged = s->other.runs[i];
                while (i + 1 < s->other.n_runs && merged.size < merged.end - merged.start &&
                       s->other.runs[i + 1].start == merged.end && s->other.runs[i + 1].size == merged.size &&
                       (merged.end - merged.start) % (merged.size % GRANULE ? 2 * merged.size : merged.size) == 0)
                        merged.end = s->other.runs[++i].end;
                const struct heap_object_run *run = &merged;
                struct arena a = { .first = run->start, .end = run->end, .plain = true,
                                   .n_granules = (size_t) ((run->end - run->start) / GRANULE) };
                size_t words = (a.n_granules + 63) / 64 + 1;
                uint64_t step = run->size % GRANULE ? 2 * run->size : run->size;
                a.starts = calloc(words, 8);
                a.marks = calloc(words, 8);
                a.frees = calloc(words, 8);
                int r = a.starts && a.marks && a.frees ? add_arena(s, &a) : -ENOMEM;
                if (r < 0) {
                        free(a.starts);
                        free(a.marks);
                        free(a.frees);
                        return r;
                }
                for (uint64_t c = run->start; c < run->end; c += step)
                        bit_set(a.starts, (size_t) ((c - run->start) / GRANULE));
                s->st.n_chunks += (size_t) ((run->end - run->start) / step);
                s->st.heap_bytes += run->end - run->start;
        }
        return 0;
}

/* The first run of s->other ending after addr, or n_runs. */
static size_t other_run_after(const struct scan *s, uint64_t addr)
{
        size_t lo = 0, hi = s->other.n_runs;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (s->other.runs[mid].end <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool overlaps_other(const struct scan *s, uint64_t start, uint64_t end)
{
        size_t i = other_run_after(s, start);
        return i < s->other.n_runs && s->other.runs[i].start < end;
}

static int add_root_skipping(struct scan *s, uint64_t start, uint64_t end);

/* The thread caches of jemalloc's threads: their stale slots would keep
 * everything a thread allocated (heap-jemalloc.h). */
static int jemalloc_tcaches(struct scan *s)
{
        _cleanup_free_ uint64_t *tls = calloc(s->p->n_threads + 1, sizeof *tls);
        if (!tls)
                return -ENOMEM;
        for (size_t i = 0; i < s->p->n_threads; i++)
                tls[i] = s->p->threads[i].tls;
        return heap_jemalloc_tcaches(&s->in->mem, tls, s->p->n_threads, &s->other);
}

/* Adds [start, end) to the roots without the other allocator's objects
 * (targets, marked only when reached) and its metadata words that point
 * at them (jemalloc's e_addr: the allocator's, not the program's). */
static int add_root_map(struct scan *s, uint64_t start, uint64_t end)
{
        uint64_t at = start;
        for (size_t i = other_run_after(s, start); at < end && i < s->other.n_runs; i++) {
                const struct heap_object_run *run = &s->other.runs[i];
                if (run->start >= end)
                        break;
                if (run->start > at) {
                        int r = add_root_map(s, at, run->start);
                        if (r < 0)
                                return r;
                }
                at = run->end;
        }
        if (at >= end)
                return 0;
        return add_root_skipping(s, at, end);
}

/* The first skip range of s->other ending after addr. */
static size_t skip_after(const struct scan *s, uint64_t addr)
{
        size_t lo = 0, hi = s->other.n_skip;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (s->other.skip[mid].end <= addr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Queues [start, end) of a plain object for scanning, without the
 * allocator's arrays of pointers at free objects in it. */
static int push_plain(struct scan *s, uint64_t start, uint64_t end)
{
        uint64_t at = start;
        for (size_t i = skip_after(s, start); at < end && i < s->other.n_skip && s->other.skip[i].start < end; i++) {
                int r = push_work(s, at, s->other.skip[i].start > at ? s->other.skip[i].start : at);
                if (r < 0)
                        return r;
                at = s->other.skip[i].end;
        }
        return at < end ? push_work(s, at, end) : 0;
}

static int add_root_meta(struct scan *s, uint64_t at, uint64_t end)
{
        const uint64_t *meta = s->other.meta;
        size_t lo = 0, hi = s->other.n_meta;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (meta[mid] < at)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        for (; lo < s->other.n_meta && meta[lo] + 8 <= end; lo++) {
                if (meta[lo] > at) {
                        int r = add_root(s, at, meta[lo]);
                        if (r < 0)
                                return r;
                }
                if (meta[lo] + 8 > at)
                        at = meta[lo] + 8;
        }
        return at < end ? add_root(s, at, end) : 0;
}

static int add_root_skipping(struct scan *s, uint64_t start, uint64_t end)
{
        uint64_t at = start;
        for (size_t i = skip_after(s, start); at < end && i < s->other.n_skip && s->other.skip[i].start < end; i++) {
                if (s->other.skip[i].start > at) {
                        int r = add_root_meta(s, at, s->other.skip[i].start);
                        if (r < 0)
                                return r;
                }
                at = s->other.skip[i].end;
        }
        return at < end ? add_root_meta(s, at, end) : 0;
}

/* The main arena: chunks from the start of [heap], or after what a static
 * program put there first (its TLS, from sbrk), which is then a root.
 * Returns 0 when walked, -EINVAL when not, or a fatal errno. */
static int walk_main_heap(struct scan *s, const struct map_entry *m)
{
        size_t len = m->end - m->start < WALK_BLOCK ? (size_t) (m->end - m->start) : WALK_BLOCK;
        int r = read_ranges(s, &(struct range) { m->start, m->start + len }, 1, s->buf);
        if (r < 0)
                return r;
        size_t limit = len < 65536 ? len : 65536;
        for (size_t off = 0; off + CHUNK_HDR <= limit; off += GRANULE) {
                if (!chunks_start_at(s->buf, m->start, len, off, m->end))
                        continue;
                struct arena a;
                r = walk_arena(s, m->start + off, m->end, &a);
                if (r < 0)
                        return r;
                if (off > 0 && (r = add_root(s, m->start, m->start + off)) < 0)
                        return r;
                return add_arena(s, &a);
        }
        return -EINVAL;
}

/* Another arena's heap: a 64 MiB-aligned mapping starting with a heap_info
 * (ar_ptr, prev, size, mprotect_size[, pagesize], 32 or 48 bytes).  The
 * first heap of an arena holds the arena (struct malloc_state, 2200 bytes in
 * glibc 2.26+) before its chunks. */
static int walk_other_heap(struct scan *s, const struct map_entry *m)
{
        uint64_t len = m->end - m->start;
        size_t head = len < 4096 ? (size_t) len : 4096;
        int r = read_ranges(s, &(struct range) { m->start, m->start + head }, 1, s->buf);
        if (r < 0)
                return r;
        uint64_t hi[4];
        memcpy(hi, s->buf, sizeof hi);
        uint64_t ar_ptr = hi[0], size = hi[2], mprotect_size = hi[3];
        if (size < 4096 || size > len || mprotect_size < size || mprotect_size > HEAP_ALIGN)
                return -EINVAL;
        uint64_t end = m->start + size;
        uint64_t from, to;
        if (ar_ptr == m->start + 32 || ar_ptr == m->start + 48) {
                from = ar_ptr + 2048;
                to = ar_ptr + 2560;
        } else {
                from = m->start + 32;
                to = m->start + 64;
        }
        for (uint64_t c = from; c <= to && c + CHUNK_HDR <= m->start + head; c += GRANULE) {
                if ((c + CHUNK_HDR) % GRANULE)
                        continue;
                if (!chunks_start_at(s->buf, m->start, head, (size_t) (c - m->start), end))
                        continue;
                struct arena a;
                r = walk_arena(s, c, end, &a);
                if (r < 0)
                        return r;
                return add_arena(s, &a);
        }
        return -EINVAL;
}

/* Mmapped chunks, one per mapping or merged end to end by the kernel: each
 * has IS_MMAPPED, prev_size holding its offset in its pages (memalign), and
 * a size that ends on a page.  All of m must be such chunks, or none is
 * taken.  Returns 0, -EINVAL, or a fatal errno. */
static int walk_mmapped(struct scan *s, const struct map_entry *m)
{
        size_t first = s->n_mm;
        uint64_t c = m->start;
        int r = 0;
        while (c < m->end && r == 0) {
                uint64_t hdr[2], off = 0;
                r = read_ranges(s, &(struct range) { c, c + 16 }, 1, (uint8_t *) hdr);
                if (r == 0 && hdr[0] != 0 && c == m->start) {
                        off = hdr[0];
                        if (off % GRANULE || off >= 4096 || c + off + 16 > m->end)
                                r = -EINVAL;
                        else
                                r = read_ranges(s, &(struct range) { c + off, c + off + 16 }, 1, (uint8_t *) hdr);
                        if (r == 0 && hdr[0] != off)
                                r = -EINVAL;
                        c += off;
                }
                if (r < 0)
                        break;
                uint64_t size = hdr[1] & SIZE_MASK;
                if (!(hdr[1] & IS_MMAPPED) || size + off < 4096 || (size + off) % 4096 || c + size > m->end) {
                        r = -EINVAL;
                        break;
                }
                struct mmchunk *x = realloc(s->mm, (s->n_mm + 1) * sizeof *x);
                if (!x)
                        return -ENOMEM;
                s->mm = x;
                s->mm[s->n_mm++] = (struct mmchunk) { c, size, false };
                c += size;
        }
        if (r < 0) {
                s->n_mm = first;
                return r;
        }
        s->st.n_chunks += s->n_mm - first;
        s->st.heap_bytes += m->end - m->start;
        return 0;
}

/* ---- the process's memory, mapping by mapping ---- */

static bool is_special(const char *path)
{
        return streq(path, "[vvar]") || streq(path, "[vvar_vclock]") || streq(path, "[vsyscall]") ||
               streq(path, "[vdso]") || streq(path, "[uprobes]");
}

static bool is_file_backed(const struct map_entry *m)
{
        return m->path[0] && m->path[0] != '[';
}

static bool is_anonymous(const struct map_entry *m)
{
        return m->path[0] == 0 || startswith(m->path, "[anon") || streq(m->path, "[stack]");
}

/* Allocators whose chunks we cannot walk: their objects live in anonymous
 * memory that would only count as a root. */
static const char *foreign_allocator(const struct map_entry *maps, size_t n, const char *walked)
{
        static const struct { const char *name, *note; } allocators[] = {
#define ALLOCATOR(x) { x, "the process uses " x ", whose chunks leakscan cannot walk" }
                ALLOCATOR("jemalloc"), ALLOCATOR("tcmalloc"), ALLOCATOR("mimalloc"), ALLOCATOR("hoard"),
                ALLOCATOR("snmalloc"), ALLOCATOR("rpmalloc"),
#undef ALLOCATOR
        };
        for (size_t i = 0; i < n; i++) {
                const char *base = strrchr(maps[i].path, '/');
                if (!base || maps[i].perms[2] != 'x')
                        continue;
                for (size_t k = 0; k < ARRAY_SIZE(allocators); k++)
                        if (strstr(base, allocators[k].name) && !(walked && streq(walked, allocators[k].name)))
                                return allocators[k].note;
        }
        return NULL;
}

static const struct map_entry *mapping_of(const struct scan *s, uint64_t addr)
{
        return map_entries_find(s->maps, s->n_maps, addr);
}

static int cmp_target(const void *a, const void *b)
{
        const struct target *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

static int add_target(struct scan *s, uint64_t start, uint64_t end, enum target_kind kind, size_t index)
{
        struct target *x = realloc(s->targets, (s->n_targets + 1) * sizeof *x);
        if (!x)
                return -ENOMEM;
        s->targets = x;
        s->targets[s->n_targets++] = (struct target) { start, end, kind, index };
        return 0;
}

/* Places each thread's stack: the mapping of its SP, and where its own part
 * ends (its struct pthread and static TLS lie at the top of a glibc stack;
 * another thread's SP higher in one merged mapping ends it too). */
static void place_stacks(struct scan *s)
{
        const struct leakscan_process *p = s->p;
        for (size_t i = 0; i < p->n_threads; i++) {
                struct thread_info *ti = &s->threads[i];
                const struct reach_thread *rt = s->in->threads ? &s->in->threads[i] : NULL;
                ti->sp = rt && rt->sp ? rt->sp : p->threads[i].n_frames ? p->threads[i].frames[0].sp : 0;
                ti->frames = -1;
                const struct map_entry *m = ti->sp ? mapping_of(s, ti->sp) : NULL;
                if (!m || !is_anonymous(m) || streq(m->path, "[heap]"))
                        continue;
                ti->stack = m;
                ti->top = m->end;
                /* glibc puts struct pthread at the very top of a thread's
                 * stack block: what lies above that page is another mapping
                 * the kernel merged with it (an mmapped chunk, say) */
                uint64_t tls = p->threads[i].tls;
                if (tls > ti->sp && tls < m->end)
                        ti->top = (tls + PAGE) / PAGE * PAGE;
        }
        for (size_t i = 0; i < p->n_threads; i++) {
                struct thread_info *ti = &s->threads[i];
                if (!ti->stack)
                        continue;
                for (size_t j = 0; j < p->n_threads; j++)
                        if (j != i && s->threads[j].stack == ti->stack && s->threads[j].sp > ti->sp &&
                            s->threads[j].sp < ti->top)
                                ti->top = s->threads[j].sp;
                s->map_kind[ti->stack - s->maps] = MAP_STACK;
        }
}

/* Which threads are roots: every thread but those blocked for good on a
 * futex object or a join, or stuck; a thread we know too little of (no
 * stack, no frames) is a root. */
static void choose_roots(struct scan *s)
{
        const struct leakscan_process *p = s->p;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                struct thread_info *ti = &s->threads[i];
                bool forced = s->in->threads && s->in->threads[i].live;
                bool joiner = t->proposed == LEAKSCAN_VERDICT_BLOCKED && t->state == LEAKSCAN_STATE_JOIN;
                bool waits = reach_is_candidate(t) || joiner;
                if (is_stuck(t) && !forced) {
                        ti->live = ti->can_wake = false;
                } else if (waits && !forced && ti->sp && t->n_frames > 0) {
                        ti->live = false;
                        ti->can_wake = true;
                } else {
                        ti->live = true;
                }
        }
}

/* Cuts the stack of each thread that is no root into its frames, as
 * analyse names a stack object's frame: frame k spans
 * [frames[k].sp, frames[k + 1].sp); the outermost runs to the thread
 * pointer (its static TLS included, its struct pthread not: glibc's list of
 * threads points there, and must not keep every stack). */
static int cut_frames(struct scan *s)
{
        const struct leakscan_process *p = s->p;
        for (size_t i = 0; i < p->n_threads; i++) {
                struct thread_info *ti = &s->threads[i];
                const struct leakscan_thread *t = &p->threads[i];
                if (ti->live || !ti->stack || t->n_frames == 0)
                        continue;
                uint64_t top = ti->top;
                if (t->tls > ti->sp && t->tls < top)
                        top = t->tls;
                struct frames f = { .thread = i };
                f.bounds = malloc((t->n_frames + 1) * sizeof *f.bounds);
                if (!f.bounds)
                        return -ENOMEM;
                f.bounds[f.n++] = ti->sp;
                for (size_t k = 1; k < t->n_frames; k++)
                        if (t->frames[k].sp > f.bounds[f.n - 1] && t->frames[k].sp < top)
                                f.bounds[f.n++] = t->frames[k].sp;
                f.bounds[f.n] = top;
                f.marked = calloc(f.n, sizeof *f.marked);
                struct frames *x = realloc(s->frames, (s->n_frames + 1) * sizeof *x);
                if (!f.marked || !x) {
                        free(f.bounds);
                        free(f.marked);
                        if (x)
                                s->frames = x;
                        return -ENOMEM;
                }
                s->frames = x;
                ti->frames = (long) s->n_frames;
                s->frames[s->n_frames++] = f;
        }
        return 0;
}

/* Sorts the memory into roots, heaps and stacks. */
static int classify_maps(struct scan *s)
{
        for (size_t i = 0; i < s->n_maps; i++) {
                const struct map_entry *m = &s->maps[i];
                unsigned char *kind = &s->map_kind[i];
                if (*kind == MAP_STACK)
                        continue;
                *kind = MAP_SKIP;
                if (m->perms[0] != 'r' || is_special(m->path))
                        continue;
                bool writable = m->perms[1] == 'w';
                if (is_file_backed(m)) {
                        if (writable)
                                *kind = MAP_MODULE;
                        continue;
                }
                /* the bss right after a module's data */
                if (i > 0 && s->maps[i - 1].end == m->start && s->map_kind[i - 1] == MAP_MODULE &&
                    m->path[0] == 0 && s->maps[i - 1].inode) {
                        *kind = MAP_MODULE;
                        continue;
                }
                int r = -EINVAL;
                if (overlaps_other(s, m->start, m->end)) {
                        *kind = MAP_ROOT;       /* another allocator's: its objects are targets */
                        continue;
                }
                if (streq(m->path, "[heap]"))
                        r = walk_main_heap(s, m);
                else if (writable && m->start % HEAP_ALIGN == 0)
                        r = walk_other_heap(s, m);
                if (r == 0) {
                        *kind = MAP_HEAP;
                        continue;
                }
                if (r != -EINVAL)
                        return r;
                if (streq(m->path, "[heap]"))
                        s->heap_unwalkable = true;
                if (writable && m->perms[3] == 'p') {
                        r = walk_mmapped(s, m);
                        if (r == 0) {
                                *kind = MAP_MMAPPED;
                                continue;
                        }
                        if (r != -EINVAL)
                                return r;
                }
                *kind = MAP_ROOT;
        }
        /* above the stacks in a stack mapping: other memory, a root */
        for (size_t i = 0; i < s->n_maps; i++) {
                if (s->map_kind[i] != MAP_STACK)
                        continue;
                uint64_t top = s->maps[i].start;
                for (size_t k = 0; k < s->p->n_threads; k++)
                        if (s->threads[k].stack == &s->maps[i] && s->threads[k].top > top)
                                top = s->threads[k].top;
                if (top >= s->maps[i].end)
                        continue;
                int r = add_root(s, top, s->maps[i].end);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_maps; i++) {
                if (s->map_kind[i] != MAP_MODULE && s->map_kind[i] != MAP_ROOT)
                        continue;
                int r = add_root_map(s, s->maps[i].start, s->maps[i].end);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int build_targets(struct scan *s)
{
        int r = 0;
        for (size_t i = 0; i < s->n_arenas && r == 0; i++)
                r = add_target(s, s->arenas[i].first, s->arenas[i].end, TARGET_ARENA, i);
        for (size_t i = 0; i < s->n_mm && r == 0; i++)
                r = add_target(s, s->mm[i].chunk, s->mm[i].chunk + s->mm[i].size, TARGET_MMAPPED, i);
        for (size_t i = 0; i < s->n_frames && r == 0; i++)
                r = add_target(s, s->frames[i].bounds[0], s->frames[i].bounds[s->frames[i].n], TARGET_FRAMES, i);
        if (r < 0)
                return r;
        qsort(s->targets, s->n_targets, sizeof *s->targets, cmp_target);
        s->lo = UINT64_MAX;
        s->hi = 0;
        for (size_t i = 0; i < s->n_targets; i++) {
                if (s->targets[i].start < s->lo)
                        s->lo = s->targets[i].start;
                if (s->targets[i].end > s->hi)
                        s->hi = s->targets[i].end;
        }
        return 0;
}

/* Queues what a live thread holds: its stack from just below SP to the top
 * of its own part, its registers and its thread pointer. */
static int push_thread(struct scan *s, size_t i)
{
        struct thread_info *ti = &s->threads[i];
        const struct leakscan_thread *t = &s->p->threads[i];
        int r = 0;
        if (ti->stack) {
                uint64_t from = ti->sp - RED_ZONE > ti->stack->start ? ti->sp - RED_ZONE : ti->stack->start;
                r = push_work(s, from & ~(uint64_t) 7, ti->top);
        } else if (ti->sp) {
                /* a stack in a malloc chunk (pthread_attr_setstack), or in
                 * memory scanned as a root anyway */
                r = mark_word(s, ti->sp);
        } else if (!t->exiting) {
                s->lost_stack = true;
        }
        const struct reach_thread *rt = s->in->threads ? &s->in->threads[i] : NULL;
        for (size_t k = 0; r == 0 && rt && k < rt->n_regs; k++)
                r = mark_word(s, rt->regs[k]);
        if (r == 0 && t->tls)
                r = mark_word(s, t->tls);
        return r;
}

static int push_roots(struct scan *s)
{
        int r = 0;
        for (size_t i = 0; i < s->n_roots && r == 0; i++)
                r = push_work(s, s->roots[i].start, s->roots[i].end);
        for (size_t i = 0; i < s->p->n_threads && r == 0; i++)
                if (s->threads[i].live)
                        r = push_thread(s, i);
        for (size_t i = 0; i < s->in->n_extra_roots && r == 0; i++)
                r = mark_word(s, s->in->extra_roots[i]);
        for (size_t off = 0; off + 8 <= s->in->n_extra_bytes && r == 0; off++) {
                uint64_t w;
                memcpy(&w, s->in->extra_bytes + off, 8);
                r = mark_word(s, w);
        }
        return r;
}

enum object_state { OBJECT_MARKED, OBJECT_UNMARKED, OBJECT_UNKNOWN };

/* Whether the wait object of thread t (the chunk or stack frame holding its
 * futex word) is marked.  *note: why unknown. */
static enum object_state object_state(const struct scan *s, const struct leakscan_thread *t, const char **note)
{
        uint64_t addr = t->wait_address;
        const struct target *x = find_target(s, addr);
        if (x) {
                switch (x->kind) {
                case TARGET_ARENA: {
                        const struct arena *a = &s->arenas[x->index];
                        size_t g;
                        uint64_t end;
                        if (!arena_chunk(a, addr, &g, &end))
                                break;
                        return bit_get(a->marks, g) ? OBJECT_MARKED : OBJECT_UNMARKED;
                }
                case TARGET_MMAPPED:
                        return s->mm[x->index].marked ? OBJECT_MARKED : OBJECT_UNMARKED;
                case TARGET_FRAMES: {
                        const struct frames *f = &s->frames[x->index];
                        if (s->threads[f->thread].live)
                                return OBJECT_MARKED;
                        return f->marked[frame_of(f, addr)] ? OBJECT_MARKED : OBJECT_UNMARKED;
                }
                }
        }
        const struct map_entry *m = mapping_of(s, addr);
        if (!m) {
                *note = "the object waited on is in no mapping";
                return OBJECT_UNKNOWN;
        }
        size_t i = (size_t) (m - s->maps);
        if (s->map_kind[i] == MAP_MODULE)
                return OBJECT_MARKED;
        if (s->map_kind[i] == MAP_STACK) {
                for (size_t k = 0; k < s->p->n_threads; k++)
                        if (s->threads[k].stack == m && s->threads[k].live)
                                return OBJECT_MARKED;
                *note = "the object waited on lies in a blocked thread's stack outside its frames";
                return OBJECT_UNKNOWN;
        }
        *note = s->heap_unwalkable && streq(m->path, "[heap]") ?
                "the heap could not be walked as glibc malloc chunks" :
                s->other.n_runs ? "the object waited on is in no allocation the heap walk found (the allocator's own memory)" :
                "the object waited on is in no glibc malloc chunk (another allocator, or its own memory)";
        return OBJECT_UNKNOWN;
}

/* Makes waiters whose object is marked, and joiners of live threads, live;
 * returns whether any became so (or a negative errno). */
static int wake_waiters(struct scan *s)
{
        const struct leakscan_process *p = s->p;
        int woke = 0;
        for (size_t i = 0; i < p->n_threads; i++) {
                struct thread_info *ti = &s->threads[i];
                const struct leakscan_thread *t = &p->threads[i];
                if (ti->live || !ti->can_wake)
                        continue;
                bool wake;
                if (t->state == LEAKSCAN_STATE_JOIN) {
                        wake = true;    /* joins a thread that is gone or unknown: its own business */
                        for (size_t k = 0; k < p->n_threads; k++)
                                if (t->joined_tid && p->threads[k].tid == t->joined_tid)
                                        wake = s->threads[k].live;
                } else {
                        const char *note = NULL;
                        wake = object_state(s, t, &note) != OBJECT_UNMARKED;
                }
                if (!wake)
                        continue;
                ti->live = true;
                int r = push_thread(s, i);
                if (r < 0)
                        return r;
                woke = 1;
        }
        return woke;
}

static void scan_free(struct scan *s)
{
        for (size_t i = 0; i < s->n_arenas; i++) {
                free(s->arenas[i].starts);
                free(s->arenas[i].marks);
                free(s->arenas[i].frees);
        }
        for (size_t i = 0; i < s->n_frames; i++) {
                free(s->frames[i].bounds);
                free(s->frames[i].marked);
        }
        free(s->arenas);
        free(s->frames);
        free(s->mm);
        free(s->targets);
        free(s->roots);
        free(s->work);
        free(s->threads);
        free(s->map_kind);
        free(s->buf);
        free(s->batch);
        free(s->reads);
        free(s->pages);
        free(s->cache);
        free(s->cache_tag);
        heap_layout_done(&s->other);
        map_entries_free(s->maps, s->n_maps);
}

/* Marks the mappings of modules' writable data, and the bss right after
 * each, MAP_MODULE in kind[]. */
static void mark_module_data(const struct map_entry *maps, size_t n, unsigned char *kind)
{
        for (size_t i = 0; i < n; i++) {
                if (kind[i] == MAP_STACK || maps[i].perms[1] != 'w')
                        continue;
                if (is_file_backed(&maps[i]))
                        kind[i] = MAP_MODULE;
                else if (i > 0 && kind[i - 1] == MAP_MODULE && maps[i - 1].end == maps[i].start &&
                         maps[i].path[0] == 0 && maps[i - 1].inode)
                        kind[i] = MAP_MODULE;
        }
}

bool reach_needs_scan(const struct leakscan_process *p, const char *maps_text)
{
        struct map_entry *maps = NULL;
        size_t n = 0;
        bool any = false;
        for (size_t i = 0; i < p->n_threads; i++)
                any |= reach_is_candidate(&p->threads[i]);
        if (!any)
                return false;
        if (procfs_parse_maps(maps_text ? maps_text : "", &maps, &n) < 0)
                return true;
        unsigned char *kind = calloc(n + 1, 1);
        bool needed = !kind;
        if (kind) {
                mark_module_data(maps, n, kind);
                for (size_t i = 0; !needed && i < p->n_threads; i++) {
                        const struct leakscan_thread *t = &p->threads[i];
                        const struct map_entry *m = map_entries_find(maps, n, t->wait_address);
                        needed = reach_is_candidate(t) && !(m && kind[m - maps] == MAP_MODULE);
                }
        }
        free(kind);
        map_entries_free(maps, n);
        return needed;
}

static void set_all(const struct leakscan_process *p, struct reach_result *ret, enum leakscan_reach reach,
                    const char *note)
{
        for (size_t i = 0; i < p->n_threads; i++)
                if (ret[i].reach == LEAKSCAN_REACH_UNREACHABLE || ret[i].reach == LEAKSCAN_REACH_NONE)
                        if (reach_is_candidate(&p->threads[i]))
                                ret[i] = (struct reach_result) { reach, note };
}

int reach_scan(const struct reach_input *in, struct reach_result *ret, struct reach_stats *stats)
{
        const struct leakscan_process *p = in->process;
        struct scan s = { .in = in, .p = p };
        int r = 0;
        size_t n_open = 0;
        for (size_t i = 0; i < p->n_threads; i++)
                ret[i] = (struct reach_result) { LEAKSCAN_REACH_NONE, NULL };

        r = procfs_parse_maps(in->maps_text ? in->maps_text : "", &s.maps, &s.n_maps);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        s.map_kind = calloc(s.n_maps + 1, 1);
        s.threads = calloc(p->n_threads + 1, sizeof *s.threads);
        if (!s.map_kind || !s.threads) {
                r = -ENOMEM;
                goto out;
        }
        place_stacks(&s);

        /* Objects in a module's data are reachable by definition: waits on
         * globals (most idle pools) cost no scan. */
        mark_module_data(s.maps, s.n_maps, s.map_kind);
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (!reach_is_candidate(t))
                        continue;
                const struct map_entry *m = mapping_of(&s, t->wait_address);
                if (m && s.map_kind[m - s.maps] == MAP_MODULE)
                        ret[i] = (struct reach_result) { LEAKSCAN_REACH_REACHABLE, NULL };
                else
                        n_open++;
        }
        if (n_open == 0) {
                s.st.skipped = true;
                goto out;
        }
        /* another allocator's heap (jemalloc's, tcmalloc's, mimalloc's), when its
         * layout is one we know */
        const char *walked = NULL, *alloc = NULL;
        if (in->mem.read) {
                /* a running thread may split or purge an extent while we
                 * read the tree: a few tries before "unknown" */
                for (unsigned tries = 0; tries < 4; tries++) {
                        alloc = NULL;
                        r = heap_jemalloc_walk(&in->mem, s.maps, s.n_maps, &s.other, &alloc);
                        if (r != -EAGAIN && r != -EIO)
                                break;
                }
                if (r == -ENOENT) {
                        for (unsigned tries = 0; tries < 4; tries++) {
                                alloc = NULL;
                                r = heap_tcmalloc_walk(&in->mem, s.maps, s.n_maps, &s.other, &alloc);
                                if (r != -EAGAIN && r != -EIO)
                                        break;
                        }
                        if (r == 0)
                                walked = "tcmalloc";
                        else if (r == -EIO)
                                alloc = "memory changed during the scan";
                }
                if (r == -ENOENT) {
                        r = heap_mimalloc_walk(&in->mem, s.maps, s.n_maps, &s.other, &alloc);
                        if (r == 0)
                                walked = "mimalloc";
                } else if (r == 0 && !walked) {
                        walked = "jemalloc";
                        r = jemalloc_tcaches(&s);
                } else if (r == -EIO) {
                        alloc = "memory changed during the scan";
                }
                if (r == -ENOMEM)
                        goto out;
                r = 0;
        }
        if (!alloc)
                alloc = in->mem.read ? foreign_allocator(s.maps, s.n_maps, walked) :
                                       "the process's memory could not be read";
        for (size_t i = 0; !alloc && i < s.n_maps; i++)
                if (startswith(s.maps[i].path, "/[aio]"))
                        alloc = "the process has Linux AIO requests, whose data the scan cannot see";
        if (!alloc)
                alloc = in->blind;
        if (alloc) {
                set_all(p, ret, LEAKSCAN_REACH_UNKNOWN, alloc);
                s.st.skipped = true;
                goto out;
        }

        s.buf = malloc(BATCH_BYTES > WALK_BLOCK ? BATCH_BYTES : WALK_BLOCK);
        s.batch = malloc(2 * DRAIN_RANGES * sizeof *s.batch);
        s.reads = malloc(DRAIN_RANGES * sizeof *s.reads);
        s.pages = malloc(MISS_PAGES * sizeof *s.pages);
        s.cache = malloc((size_t) CACHE_PAGES * PAGE);
        s.cache_tag = calloc(CACHE_PAGES, sizeof *s.cache_tag);
        if (!s.buf || !s.batch || !s.reads || !s.pages || !s.cache || !s.cache_tag) {
                r = -ENOMEM;
                goto out;
        }
        choose_roots(&s);
        r = add_plain_arenas(&s);
        if (r == 0)
                r = classify_maps(&s);
        if (r == 0)
                r = cut_frames(&s);
        if (r == 0)
                r = build_targets(&s);
        if (r == 0)
                r = push_roots(&s);
        /* Mark to a fixpoint, then pass over the roots once more: a pointer
         * the target moved from the heap to a root while we read is caught
         * the second time. */
        bool rescanned = false;
        while (r == 0) {
                r = drain(&s);
                if (r < 0)
                        break;
                r = wake_waiters(&s);
                if (r < 0)
                        break;
                if (r > 0) {
                        r = 0;
                        continue;
                }
                if (rescanned)
                        break;
                rescanned = true;
                size_t before = s.st.n_marked;
                r = push_roots(&s);
                if (r == 0)
                        r = drain(&s);
                s.st.n_roots_rescanned = s.st.n_marked - before;
        }
        if (r == -ENOMEM)
                goto out;
        if (s.over_limit) {
                set_all(p, ret, LEAKSCAN_REACH_UNKNOWN, "the scan stopped at --scan-limit (raise it to decide)");
                r = 0;
                goto out;
        }
        if (s.read_failed || r < 0) {
                set_all(p, ret, LEAKSCAN_REACH_UNKNOWN, "memory changed during the scan");
                r = 0;
                goto out;
        }
        if (s.lost_stack) {
                set_all(p, ret, LEAKSCAN_REACH_UNKNOWN, "a thread's stack could not be located");
                goto out;
        }
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (!reach_is_candidate(t) || ret[i].reach != LEAKSCAN_REACH_NONE)
                        continue;
                const char *note = NULL;
                switch (object_state(&s, t, &note)) {
                case OBJECT_MARKED:
                        ret[i].reach = LEAKSCAN_REACH_REACHABLE;
                        break;
                case OBJECT_UNMARKED:
                        /* forced live by the caller: it left the wait */
                        ret[i].reach = s.threads[i].can_wake ? LEAKSCAN_REACH_UNREACHABLE :
                                       LEAKSCAN_REACH_UNKNOWN;
                        if (!s.threads[i].can_wake)
                                ret[i].note = "its stack could not be placed, or it left the wait";
                        break;
                case OBJECT_UNKNOWN:
                        ret[i] = (struct reach_result) { LEAKSCAN_REACH_UNKNOWN, note };
                        break;
                }
        }
out:
        s.st.scanned_bytes = s.scanned;
        if (stats)
                *stats = s.st;
        scan_free(&s);
        return r == -ENOMEM ? r : 0;
}

/* ---- the live process ---- */

struct target_process {
        pid_t pid;
        int pagemap;            /* /proc/PID/pagemap, or -1 */
        int mem;                /* /proc/PID/mem (reach_proxy), or -1: process_vm_readv */
};

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)

static ssize_t read_process(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        const struct target_process *tp = userdata;
        if (tp->mem >= 0) {
                /* as process_vm_readv: a short read stops at the first
                 * range that failed */
                ssize_t total = 0;
                for (size_t i = 0; i < n; i++) {
                        ssize_t got = pread(tp->mem, local[i].iov_base, local[i].iov_len,
                                            (off_t) (uintptr_t) remote[i].iov_base);
                        if (got < 0 && total == 0)
                                return -errno;
                        if (got > 0)
                                total += got;
                        if (got != (ssize_t) local[i].iov_len)
                                break;
                }
                return total;
        }
        ssize_t r = process_vm_readv(tp->pid, local, n, remote, n, 0);
        return r < 0 ? -errno : r;
}

static int touched_pages(void *userdata, uint64_t addr, size_t n, bool *ret)
{
        const struct target_process *tp = userdata;
        uint64_t entries[512];
        for (size_t done = 0; done < n; ) {
                size_t k = n - done < ARRAY_SIZE(entries) ? n - done : ARRAY_SIZE(entries);
                if (tp->pagemap < 0)
                        return -EBADF;
                ssize_t got = pread(tp->pagemap, entries, k * 8, (off_t) ((addr / PAGE + done) * 8));
                if (got != (ssize_t) (k * 8))
                        return got < 0 ? -errno : -EIO;
                for (size_t i = 0; i < k; i++)
                        ret[done + i] = entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED);
                done += k;
        }
        return 0;
}

struct wait_mark {
        bool ok;
        long nr;
        uint64_t arg0;
        char state;
        long nvcsw;
};

/* Where thread tid sleeps now: its syscall and first argument, its state
 * letter and voluntary context switches. */
static int read_task_file(const struct reach_proxy *px, pid_t pid, pid_t tid, const char *name, char **ret)
{
        if (px)
                return px->task_file(px->userdata, tid, name, ret);
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int) pid, (int) tid, name);
        ssize_t r = read_full_file(path, ret);
        return r < 0 ? (int) r : 0;
}

static struct wait_mark read_wait_mark(const struct reach_proxy *px, pid_t pid, pid_t tid, uint64_t *ret_sp)
{
        struct wait_mark w = {0};
        _cleanup_free_ char *sc = NULL, *st = NULL;
        if (read_task_file(px, pid, tid, "syscall", &sc) < 0)
                return w;
        if (read_task_file(px, pid, tid, "status", &st) < 0)
                return w;
        struct proc_syscall ps;
        if (procfs_parse_syscall(sc, &ps) < 0 || ps.running)
                return w;
        const char *state = strstr(st, "\nState:");
        if (!state || procfs_parse_status_field(st, "voluntary_ctxt_switches", &w.nvcsw) < 0)
                return w;
        state += strlen("\nState:");
        while (*state == ' ' || *state == '\t')
                state++;
        w.state = *state;
        w.nr = ps.nr;
        w.arg0 = ps.args[0];
        if (ret_sp)
                *ret_sp = ps.sp;
        w.ok = true;
        return w;
}

static bool same_wait(const struct wait_mark *a, const struct wait_mark *b)
{
        return a->ok && b->ok && a->nr == b->nr && a->arg0 == b->arg0 && a->nvcsw == b->nvcsw &&
               a->state == 'S' && b->state == 'S';
}

/* Whether w shows t asleep in the futex wait the snapshot saw. */
static bool waits_on(const struct wait_mark *w, const struct leakscan_thread *t)
{
        return w->ok && w->nr == SYS_futex && w->arg0 == t->wait_address && w->state == 'S';
}

/* What kernel_roots collects: words (epoll data, timer values), and the
 * bytes waiting in pipes and sockets, kept as bytes (the mark takes a word
 * at every offset) so that they cost their own size rather than eight times
 * it.  The bytes count against --scan-limit like the memory the mark reads:
 * a process cannot make the scan hold more than the limit by filling its
 * pipes. */
struct kernel_roots {
        uint64_t *words;
        size_t n_words, cap_words;
        uint8_t *bytes;
        size_t n_bytes, cap_bytes;
        uint64_t budget;        /* bytes that may still be copied; UINT64_MAX: no limit */
        const char *blind;
};

/* What kernel_roots could not read, as the notes say it.  A note that comes
 * back from the capturer or a snapshot is one of these (reach_kernel_note):
 * the notes a thread keeps are always static text. */
enum { BLIND_IO_URING, BLIND_OVER_LIMIT, BLIND_SOCKET, BLIND_PIPE, BLIND_OTHER };
static const char *const kernel_blind_notes[] = {
        [BLIND_IO_URING] = "the process uses io_uring, whose requests may hold pointers the scan cannot see",
        /* one literal: clang takes two in a row here for a missing comma */
        [BLIND_OVER_LIMIT] = "the bytes waiting in the process's pipes and sockets exceed --scan-limit (raise it to decide)",
        [BLIND_SOCKET] = "bytes waiting in a unix socket could not be read",
        [BLIND_PIPE] = "bytes in a pipe between the process's threads could not be read",
        [BLIND_OTHER] = "what the kernel keeps for the process could not all be read",
};

const char *reach_kernel_note(const char *text)
{
        if (!text || !*text)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(kernel_blind_notes); i++)
                if (streq(text, kernel_blind_notes[i]))
                        return kernel_blind_notes[i];
        return kernel_blind_notes[BLIND_OTHER];
}

/* bytes between two streams: no word spans them */
#define STREAM_GAP 7

static int add_word(struct kernel_roots *k, uint64_t w)
{
        if (grow_array(&k->words, &k->cap_words, k->n_words + 1, sizeof *k->words) < 0)
                return -ENOMEM;
        k->words[k->n_words++] = w;
        return 0;
}

/* Room for a stream of len bytes at k->bytes + k->n_bytes, taken from the
 * budget.  Returns 0, -E2BIG when the budget cannot cover it (nothing is
 * taken), or -ENOMEM. */
static int reserve_stream(struct kernel_roots *k, size_t len)
{
        if (len >= k->budget)
                return -E2BIG;
        if (grow_array(&k->bytes, &k->cap_bytes, k->n_bytes + len + STREAM_GAP, 1) < 0)
                return -ENOMEM;
        if (k->budget != UINT64_MAX)
                k->budget -= len;
        return 0;
}

/* Ends a stream of len bytes written at k->bytes + k->n_bytes. */
static void end_stream(struct kernel_roots *k, size_t len)
{
        memset(k->bytes + k->n_bytes + len, 0, STREAM_GAP);
        k->n_bytes += len + STREAM_GAP;
}

/* fd of the process through pidfd, when it is still the pipe or socket
 * (mode S_IFIFO or S_IFSOCK) with inode ino that /proc named: the process
 * may have put anything at that number since (a device whose ioctl 0x541B
 * means something else, a FIFO that blocks), and nothing else is asked a
 * question.  Returns the new descriptor or a negative errno (-ESTALE for
 * another file). */
static int dup_expected(int pidfd, int fd, mode_t mode, uint64_t ino)
{
        int dup = (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0);
        if (dup < 0)
                return -errno;
        struct stat st;
        if (fstat(dup, &st) < 0 || (st.st_mode & S_IFMT) != mode || (uint64_t) st.st_ino != ino) {
                close(dup);
                return -ESTALE;
        }
        return dup;
}

/* Adds the bytes waiting in pipe fd (inode ino) of the process (through
 * pidfd): a pointer passed from thread to thread through a pipe is in
 * neither's memory while it is in flight.  The bytes are copied with
 * tee(2), which leaves them in the pipe.  Returns 0, a negative errno when
 * the pipe could not be looked into (-E2BIG: past --scan-limit), or
 * -ENOMEM. */
static int pipe_words(int pidfd, int fd, uint64_t ino, struct kernel_roots *k)
{
        _cleanup_close_ int dup = dup_expected(pidfd, fd, S_IFIFO, ino);
        if (dup < 0)
                return dup;
        int pending = 0;
        if (ioctl(dup, FIONREAD, &pending) < 0)
                return -errno;
        if (pending <= 0)
                return 0;
        int r = reserve_stream(k, (size_t) pending);
        if (r < 0)
                return r;
        int mine[2];
        if (pipe2(mine, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        (void) fcntl(mine[1], F_SETPIPE_SZ, pending);
        uint8_t *buf = k->bytes + k->n_bytes;
        ssize_t got = tee(dup, mine[1], (size_t) pending, SPLICE_F_NONBLOCK);
        r = got < 0 ? -errno : 0;
        size_t len = 0;
        while (r == 0 && len < (size_t) got) {
                ssize_t n = read(mine[0], buf + len, (size_t) got - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        close(mine[0]);
        close(mine[1]);
        /* less than pending: the reader took some meanwhile, or our pipe was
         * smaller; what was not seen is a blind spot */
        if (r == 0 && len < (size_t) pending)
                r = -EAGAIN;
        end_stream(k, len);
        return r;
}

/* The same for a unix socket: the bytes waiting are peeked (MSG_PEEK,
 * unless the process set SO_PEEK_OFF, which a peek would move).  Returns 0,
 * -EAGAIN when not all of them could be seen, or another negative errno. */
static int socket_words(int pidfd, int fd, uint64_t ino, struct kernel_roots *k)
{
        _cleanup_close_ int dup = dup_expected(pidfd, fd, S_IFSOCK, ino);
        if (dup < 0)
                return dup;
        int pending = 0, peek_off = -1, type = 0;
        socklen_t len = sizeof peek_off, tlen = sizeof type;
        if (ioctl(dup, FIONREAD, &pending) < 0 || pending <= 0)
                return 0;       /* a listening socket holds no bytes */
        if (getsockopt(dup, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &len) == 0 && peek_off >= 0)
                return -EAGAIN;
        /* a datagram socket shows its first message only */
        if (getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
                return -EAGAIN;
        int r = reserve_stream(k, (size_t) pending);
        if (r < 0)
                return r;
        ssize_t got = recv(dup, k->bytes + k->n_bytes, (size_t) pending, MSG_PEEK | MSG_DONTWAIT);
        end_stream(k, got > 0 ? (size_t) got : 0);
        return got == pending ? 0 : -EAGAIN;
}

/* The inodes of the process's unix sockets (/proc/PID/net/unix), sorted. */
static int unix_inodes(pid_t pid, struct kernel_roots *ret)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/net/unix", (int) pid);
        _cleanup_free_ char *text = NULL;
        if (read_full_file(path, &text) < 0)
                return 0;
        /* "Num RefCount Protocol Flags Type St Inode [Path]": the 7th field */
        for (const char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
                const char *q = line + 1;
                for (int field = 0; field < 6; field++) {
                        q += strspn(q, " ");
                        q += strcspn(q, " \n");
                }
                char *end;
                unsigned long long ino = strtoull(q, &end, 10);
                if (end != q && add_word(ret, ino) < 0)
                        return -ENOMEM;
        }
        qsort(ret->words, ret->n_words, sizeof *ret->words, cmp_u64);
        return 0;
}

struct fd_entry {
        int fd;
        char target[64];
        bool reads;             /* opened for reading */
};

static int cmp_fd_entry(const void *a, const void *b)
{
        const struct fd_entry *x = a, *y = b;
        int c = strcmp(x->target, y->target);
        return c ? c : (int) x->reads - (int) y->reads;
}

/* Words the kernel keeps on the process's behalf, which its threads get
 * back later: the data of every epoll registration (fdinfo "data:"), the
 * sigev_value of every POSIX timer (/proc/PID/timers "signal: N/VALUE"), and
 * the bytes waiting in the pipes and unix sockets it reads (k->bytes, at
 * most k->budget of them).  What cannot be seen sets k->blind: an
 * io_uring's requests, or the bytes of a pipe both of whose ends the
 * process holds (threads passing pointers) that could not be read. */
static int kernel_roots(pid_t pid, struct kernel_roots *k)
{
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        DIR *d = opendir(path);
        struct dirent *de;
        _cleanup_free_ struct fd_entry *fds = NULL;
        size_t n_fds = 0, cap_fds = 0;
        int r = 0;
        while (d && r == 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                char link[320], target[64];
                snprintf(link, sizeof link, "/proc/%d/fd/%s", (int) pid, de->d_name);
                ssize_t n = readlink(link, target, sizeof target - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                if (streq(target, "anon_inode:[io_uring]"))
                        k->blind = kernel_blind_notes[BLIND_IO_URING];
                bool epoll = streq(target, "anon_inode:[eventpoll]");
                if (!epoll && !startswith(target, "pipe:") && !startswith(target, "socket:"))
                        continue;
                _cleanup_free_ char *text = NULL;
                snprintf(link, sizeof link, "/proc/%d/fdinfo/%s", (int) pid, de->d_name);
                if (read_full_file(link, &text) < 0)
                        continue;
                if (epoll) {
                        for (const char *q = text; r == 0 && (q = strstr(q, " data:")); ) {
                                q += strlen(" data:");
                                r = add_word(k, strtoull(q, NULL, 16));
                        }
                        continue;
                }
                const char *flags = strstr(text, "flags:");
                if (grow_array(&fds, &cap_fds, n_fds + 1, sizeof *fds) < 0) {
                        r = -ENOMEM;
                        break;
                }
                fds[n_fds] = (struct fd_entry) { .fd = atoi(de->d_name),
                                                 .reads = flags && (strtol(flags + 6, NULL, 8) & 3) != 1 };
                snprintf(fds[n_fds++].target, sizeof fds->target, "%s", target);
        }
        if (d)
                closedir(d);

        _cleanup_close_ int pidfd = n_fds ? (int) syscall(SYS_pidfd_open, pid, 0) : -1;
        struct kernel_roots unix_socks = {0};
        bool sockets = false;
        for (size_t i = 0; i < n_fds; i++)
                sockets |= startswith(fds[i].target, "socket:");
        if (r == 0 && sockets)
                r = unix_inodes(pid, &unix_socks);
        /* by target, writers first: a pipe's ends side by side */
        qsort(fds, n_fds, sizeof *fds, cmp_fd_entry);
        for (size_t i = 0; r == 0 && i < n_fds; i++) {
                if (!fds[i].reads)
                        continue;
                bool socket = startswith(fds[i].target, "socket:");
                const char *bracket = strchr(fds[i].target, '[');       /* "pipe:[INODE]" */
                if (!bracket)
                        continue;
                uint64_t ino = strtoull(bracket + 1, NULL, 10);
                if (socket) {
                        if (!bsearch(&ino, unix_socks.words, unix_socks.n_words, sizeof ino, cmp_u64))
                                continue;       /* not a unix socket: no thread of ours at the other end */
                        int e = pidfd >= 0 ? socket_words(pidfd, fds[i].fd, ino, k) : -ENOSYS;
                        if (e == -ENOMEM)
                                r = e;
                        else if (e == -E2BIG)
                                k->blind = kernel_blind_notes[BLIND_OVER_LIMIT];
                        else if (e < 0)
                                k->blind = kernel_blind_notes[BLIND_SOCKET];
                        continue;
                }
                int e = pidfd >= 0 ? pipe_words(pidfd, fds[i].fd, ino, k) : -ENOSYS;
                if (e == -ENOMEM)
                        r = e;
                bool both_ends = false;
                for (size_t j = i; j-- > 0 && streq(fds[j].target, fds[i].target); )
                        both_ends |= !fds[j].reads;
                if (e == -E2BIG && both_ends)
                        k->blind = kernel_blind_notes[BLIND_OVER_LIMIT];
                else if (e < 0 && both_ends)
                        k->blind = kernel_blind_notes[BLIND_PIPE];
        }
        free(unix_socks.words);

        _cleanup_free_ char *timers = NULL;
        snprintf(path, sizeof path, "/proc/%d/timers", (int) pid);
        if (r == 0 && read_full_file(path, &timers) >= 0)
                for (const char *q = timers; r == 0 && (q = strstr(q, "signal:")); ) {
                        const char *slash = strchr(q, '/');
                        q += strlen("signal:");
                        if (slash)
                                r = add_word(k, strtoull(slash + 1, NULL, 16));
                }
        return r;
}

void reach_live_done(struct reach_live *l)
{
        if (!l)
                return;
        free(l->sp);
        free(l->flags);
        free(l->extra_roots);
        free(l->extra_bytes);
        free(l->blind);
        *l = (struct reach_live) {0};
}

/* The memory source with every read told to io's tap (--save-snapshot). */
struct tapped_process {
        struct target_process tp;
        const struct reach_io *io;
};

static ssize_t read_tapped(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        struct tapped_process *t = userdata;
        ssize_t r = read_process(&t->tp, local, remote, n);
        t->io->tap_read(t->io->tap, remote, local, n, r);
        return r;
}

static int touched_tapped(void *userdata, uint64_t addr, size_t n, bool *ret)
{
        struct tapped_process *t = userdata;
        int r = touched_pages(&t->tp, addr, n, ret);
        t->io->tap_touched(t->io->tap, addr, n, ret, r);
        return r;
}

static int live_record(struct reach_live *rec, const struct reach_thread *threads, size_t n,
                       const struct reach_kernel *k)
{
        rec->scanned = true;
        rec->n = n;
        rec->sp = calloc(n + 1, sizeof *rec->sp);
        rec->flags = calloc(n + 1, sizeof *rec->flags);
        rec->extra_roots = malloc((k->n_words + 1) * sizeof *rec->extra_roots);
        rec->extra_bytes = malloc(k->n_bytes + 1);
        rec->blind = k->blind ? strdup(k->blind) : NULL;
        if (!rec->sp || !rec->flags || !rec->extra_roots || !rec->extra_bytes || (k->blind && !rec->blind))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                rec->sp[i] = threads[i].sp;
                rec->flags[i] = threads[i].live ? REACH_LIVE_LEFT : 0;
        }
        if (k->n_words)
                memcpy(rec->extra_roots, k->words, k->n_words * sizeof *k->words);
        rec->n_extra_roots = k->n_words;
        if (k->n_bytes)
                memcpy(rec->extra_bytes, k->bytes, k->n_bytes);
        rec->n_extra_bytes = k->n_bytes;
        rec->budget = k->budget;
        return 0;
}

/* The kernel's roots as a recording kept them, in new arrays.  A recording
 * without the budget left (0) leaves the whole limit to the memory. */
static int kernel_copy(const struct reach_live *l, uint64_t scan_limit, struct reach_kernel *ret)
{
        struct reach_kernel k = {
                .words = malloc((l->n_extra_roots + 1) * sizeof *k.words),
                .n_words = l->n_extra_roots,
                .bytes = malloc(l->n_extra_bytes + 1),
                .n_bytes = l->n_extra_bytes,
                .budget = l->budget ? l->budget : scan_limit ? scan_limit : UINT64_MAX,
                .blind = reach_kernel_note(l->blind),
        };
        if (!k.words || !k.bytes) {
                reach_kernel_done(&k);
                return -ENOMEM;
        }
        if (k.n_words)
                memcpy(k.words, l->extra_roots, k.n_words * sizeof *k.words);
        if (k.n_bytes)
                memcpy(k.bytes, l->extra_bytes, k.n_bytes);
        *ret = k;
        return 0;
}

int reach_process(struct leakscan_process *p, const char *maps_text, const uint64_t *const *regs,
                  size_t n_regs, uint64_t scan_limit, struct reach_stats *stats)
{
        return reach_process_io(p, maps_text, regs, n_regs, scan_limit, stats, NULL);
}

int reach_process_io(struct leakscan_process *p, const char *maps_text, const uint64_t *const *regs,
                     size_t n_regs, uint64_t scan_limit, struct reach_stats *stats, const struct reach_io *io)
{
        const struct reach_live *replay = io ? io->replay : NULL;
        const struct reach_proxy *px = io ? io->proxy : NULL;
        if (replay && replay->scanned && replay->n != p->n_threads)
                return -EINVAL;
        size_t n = p->n_threads;
        if (stats)
                *stats = (struct reach_stats) { .skipped = true };
        if (!reach_needs_scan(p, maps_text)) {
                /* waits on globals only: reachable without a read */
                _cleanup_free_ struct reach_result *res = calloc(n + 1, sizeof *res);
                struct reach_input in = { .process = p, .maps_text = maps_text };
                if (!res || reach_scan(&in, res, stats) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        p->threads[i].reach = res[i].reach;
                        p->threads[i].reach_note = res[i].note;
                }
                return 0;
        }

        if (replay && !replay->scanned)
                return -EINVAL;         /* the recording has no scan to replay */
        _cleanup_free_ struct reach_thread *threads = calloc(n, sizeof *threads);
        _cleanup_free_ struct wait_mark *before = calloc(n, sizeof *before);
        _cleanup_free_ struct reach_result *res = calloc(n, sizeof *res);
        if (!threads || !before || !res)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct leakscan_thread *t = &p->threads[i];
                threads[i].regs = regs ? regs[i] : NULL;
                threads[i].n_regs = regs && regs[i] ? n_regs : 0;
                if (replay)
                        threads[i].sp = replay->scanned ? replay->sp[i] : 0;
                else if (t->n_frames == 0 && !t->exiting)     /* not stopped: /proc still shows its SP */
                        (void) read_wait_mark(px, p->pid, t->tid, &threads[i].sp);
        }
        /* Where each candidate sleeps now, after our stop: the wait must
         * still be the same after the scan, with no switch in between.  Our
         * stop made every thread run; give them a moment (40 ms at most in
         * all) to re-enter their waits before calling one moved. */
        for (unsigned pass = 0; !replay && pass < 20; pass++) {
                bool settled = true;
                for (size_t i = 0; i < n; i++) {
                        const struct leakscan_thread *t = &p->threads[i];
                        if (!reach_is_candidate(t) || (pass > 0 && waits_on(&before[i], t)))
                                continue;
                        before[i] = read_wait_mark(px, p->pid, t->tid, NULL);
                        settled &= waits_on(&before[i], t);
                }
                if (settled)
                        break;
                usleep(2000);
        }
        for (size_t i = 0; i < n; i++)
                if (replay ? replay->flags[i] & REACH_LIVE_LEFT :
                    reach_is_candidate(&p->threads[i]) && !waits_on(&before[i], &p->threads[i]))
                        threads[i].live = true;
        struct reach_kernel k = {0};
        int r = 0;
        if (replay) {
                r = kernel_copy(replay, scan_limit, &k);
        } else if (px) {
                r = px->kernel_roots(px->userdata, &k);
                k.blind = reach_kernel_note(k.blind);
        } else {
                r = reach_kernel_roots(p->pid, scan_limit, &k);
        }
        if (r < 0)
                return r;
        if (io && io->record && live_record(io->record, threads, n, &k) < 0) {
                reach_kernel_done(&k);
                return -ENOMEM;
        }
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/pagemap", (int) p->pid);
        int pagemap = replay ? -1 : px ? fcntl(px->pagemap_fd, F_DUPFD_CLOEXEC, 3) : open(path, O_RDONLY | O_CLOEXEC);
        struct tapped_process tp = { { p->pid, pagemap, px ? px->mem_fd : -1 }, io };
        struct reach_memory mem = { read_process, touched_pages, &tp.tp };
        if (replay)
                mem = io->replay_mem;
        else if (io && io->tap_read)
                mem = (struct reach_memory) { read_tapped, touched_tapped, &tp };
        struct reach_input in = {
                .process = p,
                .maps_text = maps_text,
                .threads = threads,
                .extra_roots = k.words,
                .n_extra_roots = k.n_words,
                .extra_bytes = k.bytes,
                .n_extra_bytes = k.n_bytes,
                .blind = k.blind,
                /* what the pipes took is not read from memory: k.budget is
                 * at least 1 when there is a limit (reserve_stream) */
                .scan_limit = scan_limit ? k.budget : 0,
                .mem = mem,
        };
        r = reach_scan(&in, res, stats);
        if (tp.tp.pagemap >= 0)
                close(tp.tp.pagemap);
        reach_kernel_done(&k);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct leakscan_thread *t = &p->threads[i];
                t->reach = res[i].reach;
                t->reach_note = res[i].note;
                if (threads[i].live && reach_is_candidate(t) && t->reach != LEAKSCAN_REACH_REACHABLE) {
                        t->reach = LEAKSCAN_REACH_REACHABLE;
                        t->reach_note = "its wait ended after the snapshot";
                }
                if (t->reach != LEAKSCAN_REACH_UNREACHABLE)
                        continue;
                bool moved;
                if (replay) {
                        moved = replay->flags[i] & REACH_LIVE_MOVED;
                } else {
                        struct wait_mark after = read_wait_mark(px, p->pid, t->tid, NULL);
                        moved = !same_wait(&before[i], &after);
                        if (moved && io && io->record)
                                io->record->flags[i] |= REACH_LIVE_MOVED;
                }
                if (moved) {
                        t->reach = LEAKSCAN_REACH_REACHABLE;
                        t->reach_note = "its wait ended during the scan";
                }
        }
        return 0;
}

int reach_kernel_roots(pid_t pid, uint64_t scan_limit, struct reach_kernel *ret)
{
        struct kernel_roots k = { .budget = scan_limit ? scan_limit : UINT64_MAX };
        int r = kernel_roots(pid, &k);
        if (r < 0) {
                free(k.words);
                free(k.bytes);
                return r;
        }
        *ret = (struct reach_kernel) { k.words, k.n_words, k.bytes, k.n_bytes, k.budget, k.blind };
        return 0;
}

void reach_kernel_done(struct reach_kernel *k)
{
        if (!k)
                return;
        free(k->words);
        free(k->bytes);
        *k = (struct reach_kernel) {0};
}

int reach_parse_size(const char *text, uint64_t *ret)
{
        char *end;
        errno = 0;
        if (!text || !isdigit((unsigned char) *text))
                return -EINVAL;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno)
                return -EINVAL;
        unsigned shift = 0;
        switch (toupper((unsigned char) *end)) {
        case 0: break;
        case 'K': shift = 10; end++; break;
        case 'M': shift = 20; end++; break;
        case 'G': shift = 30; end++; break;
        case 'T': shift = 40; end++; break;
        default: return -EINVAL;
        }
        if (shift && (*end == 'i' || *end == 'I'))
                end++;
        if (shift && (*end == 'B' || *end == 'b'))
                end++;
        if (*end || (shift && v > (UINT64_MAX >> shift)))
                return -EINVAL;
        *ret = (uint64_t) v << shift;
        return 0;
}
