/* Unit tests of the jemalloc 5.3 heap walk on a synthetic memory image: the
 * library's version string and .bss with the radix tree's root, a leaf,
 * edata_t records, a slab, a large allocation at a cache-oblivious offset,
 * and a thread's cache whose stack keeps a stale pointer.  The walk's
 * output, its refusals (another version, an extent that does not check
 * out), and the reachability scan on top of it, each both ways. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap-jemalloc.h"
#include "reach.h"

#define LIB       "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define JE_RO     0x7f1000000000ull
#define JE_DATA   0x7f1000010000ull
#define JE_BSS    0x7f1000011000ull
#define JE_BSS_LEN 0x220000ull
#define ROOT      (JE_BSS + 0x800)
#define EXT       0x7f2000000000ull     /* extents: 1 GiB aligned */
#define EXT_LEN   0x40000ull
#define SLAB      EXT                   /* class 320 (szind 13): 5 pages, 64 regions */
#define LARGE     (EXT + 0x10000)       /* 8 pages, user pointer at +0x940 */
#define STACKS    (EXT + 0x20000)       /* the thread cache's stacks: 2 pages */
#define BASE      0x7f3000000000ull     /* jemalloc's metadata: leaf, edata */
#define BASE_LEN  0x300000ull
#define EDATA(k)  (BASE + 0x200000 + 128 * (k))
#define GLOBALS   0x555555558000ull
#define STACK_MAIN 0x7f4000000000ull
#define STACK_W   0x7f5000000000ull
#define STACK_LEN 0x10000ull

struct segment {
        uint64_t addr, len;
        uint8_t *bytes;
        char line[160];
};

struct image {
        struct segment seg[12];
        size_t n;
        char maps[4096];
};

static void add_segment(struct image *im, uint64_t addr, uint64_t len, const char *perms, const char *path)
{
        struct segment *s = &im->seg[im->n++];
        s->addr = addr;
        s->len = len;
        s->bytes = calloc(1, len);
        snprintf(s->line, sizeof s->line, "%lx-%lx %s 00000000 %s %s\n", (unsigned long) addr,
                 (unsigned long) (addr + len), perms, path[0] == '/' ? "08:01 4242     " : "00:00 0        ", path);
}

static uint8_t *at(struct image *im, uint64_t addr)
{
        for (size_t i = 0; i < im->n; i++)
                if (addr >= im->seg[i].addr && addr < im->seg[i].addr + im->seg[i].len)
                        return im->seg[i].bytes + (addr - im->seg[i].addr);
        abort();
}

static void put(struct image *im, uint64_t addr, uint64_t v)
{
        memcpy(at(im, addr), &v, 8);
}

static void put16(struct image *im, uint64_t addr, uint16_t v)
{
        memcpy(at(im, addr), &v, 2);
}

static ssize_t image_read(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        struct image *im = userdata;
        ssize_t done = 0;
        /* as process_vm_readv: across adjacent mappings too */
        for (size_t i = 0; i < n; i++) {
                uint64_t a = (uint64_t) (uintptr_t) remote[i].iov_base, len = remote[i].iov_len;
                uint8_t *out = local[i].iov_base;
                while (len > 0) {
                        const struct segment *s = NULL;
                        for (size_t k = 0; k < im->n; k++)
                                if (a >= im->seg[k].addr && a < im->seg[k].addr + im->seg[k].len)
                                        s = &im->seg[k];
                        if (!s)
                                return done ? done : -EFAULT;
                        uint64_t k = s->addr + s->len - a < len ? s->addr + s->len - a : len;
                        memcpy(out, s->bytes + (a - s->addr), k);
                        out += k;
                        a += k;
                        len -= k;
                        done += (ssize_t) k;
                }
        }
        return done;
}

static const char *image_maps(struct image *im)
{
        bool done[12] = {0};
        size_t used = 0;
        for (size_t k = 0; k < im->n; k++) {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < im->n; i++)
                        if (!done[i] && (best == SIZE_MAX || im->seg[i].addr < im->seg[best].addr))
                                best = i;
                done[best] = true;
                used += (size_t) snprintf(im->maps + used, sizeof im->maps - used, "%s", im->seg[best].line);
        }
        return im->maps;
}

/* Registers page addr of an extent in the tree: szind << 48 | edata | slab. */
static void leaf_set(struct image *im, uint64_t page, uint64_t edata, unsigned szind, bool slab)
{
        uint64_t j = (page >> 12) & 0x3ffff;
        put(im, BASE + 8 * j, (uint64_t) szind << 48 | edata | (slab ? 1 : 0) | 2 /* is_head */);
}

static void edata_set(struct image *im, uint64_t edata, uint64_t addr, uint64_t size)
{
        put(im, edata, 0x10000270a000ull);      /* e_bits: opaque here */
        put(im, edata + 8, addr);
        put(im, edata + 16, size | 0x7);        /* esn in the low bits */
}

static void image_init(struct image *im, const char *version)
{
        memset(im, 0, sizeof *im);
        add_segment(im, 0x555555554000ull, 0x2000, "r-xp", "/t/prog");
        add_segment(im, GLOBALS, 0x1000, "rw-p", "/t/prog");
        add_segment(im, JE_RO, 0x1000, "r--p", LIB);
        add_segment(im, JE_DATA, 0x1000, "rw-p", LIB);
        add_segment(im, JE_BSS, JE_BSS_LEN, "rw-p", "");
        add_segment(im, EXT, EXT_LEN, "rw-p", "");
        add_segment(im, BASE, BASE_LEN, "rw-p", "");
        add_segment(im, STACK_MAIN, STACK_LEN, "rw-p", "[stack]");
        add_segment(im, STACK_W, STACK_LEN, "rw-p", "");
        memcpy(at(im, JE_RO + 0x101), version, strlen(version) + 1);
        put(im, JE_DATA + 0x40, JE_BSS + 0x100000);     /* data's own pointers: no root */
        put(im, ROOT + 8 * ((EXT >> 30) & 0x3ffff), BASE);
        /* the slab: every page registered with its class */
        edata_set(im, EDATA(0), SLAB, 0x5000);
        for (int k = 0; k < 5; k++)
                leaf_set(im, SLAB + 0x1000 * (uint64_t) k, EDATA(0), 13, true);
        /* a large allocation: first page with its class, last with none */
        edata_set(im, EDATA(1), LARGE + 0x940, 0x8000);
        leaf_set(im, LARGE, EDATA(1), 39, false);
        leaf_set(im, LARGE + 0x7000, EDATA(1), 232, false);
        /* the thread cache's stacks, a large allocation too */
        edata_set(im, EDATA(2), STACKS, 0x2000);
        leaf_set(im, STACKS, EDATA(2), 27, false);
        leaf_set(im, STACKS + 0x1000, EDATA(2), 232, false);
}

static void image_free(struct image *im)
{
        for (size_t i = 0; i < im->n; i++)
                free(im->seg[i].bytes);
}

/* A thread cache's ten bins at TSD addr, stacks of 0x40 bytes chained from
 * STACKS + 0x8; bin 0 holds one free region at its head and, below, a
 * stale slot pointing at stale. */
static void put_bins(struct image *im, uint64_t tsd, uint64_t stale)
{
        uint64_t full = STACKS + 0x8;
        for (int k = 0; k < 10; k++) {
                uint64_t rec = tsd + 24 * (uint64_t) k, empty = full + 0x40;
                uint64_t head = k == 0 ? empty - 8 : empty;
                put(im, rec, head);
                put(im, rec + 8, 1234);         /* nrequests */
                put16(im, rec + 16, (uint16_t) head);
                put16(im, rec + 18, (uint16_t) full);
                put16(im, rec + 20, (uint16_t) empty);
                if (k == 0) {
                        put(im, head, SLAB + 320 * 63);         /* a cached free region */
                        put(im, head - 8, stale);               /* handed out since */
                }
                full = empty;
        }
}

static struct reach_memory memory(struct image *im)
{
        return (struct reach_memory) { image_read, NULL, im };
}

static void test_walk(void)
{
        struct image im;
        image_init(&im, "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c");
        struct map_entry *maps;
        size_t n;
        CHECK_EQ_INT(procfs_parse_maps(image_maps(&im), &maps, &n), 0);
        struct reach_memory mem = memory(&im);
        struct heap_layout l = {0};
        const char *note = NULL;
        CHECK_EQ_INT(heap_jemalloc_walk(&mem, maps, n, &l, &note), 0);
        CHECK_EQ_INT(l.n_runs, 3);
        if (l.n_runs == 3) {
                CHECK(l.runs[0].start == SLAB && l.runs[0].end == SLAB + 0x5000 && l.runs[0].size == 320);
                CHECK(l.runs[1].start == LARGE && l.runs[1].end == LARGE + 0x8000 && l.runs[1].size == 0x8000);
                CHECK(l.runs[2].start == STACKS && l.runs[2].size == 0x2000);
        }
        CHECK_EQ_INT(l.n_meta, 3);
        CHECK(l.n_meta == 3 && l.meta[0] == EDATA(0) + 8 && l.meta[2] == EDATA(2) + 8);

        /* the thread cache's stacks, found below the thread pointer */
        put_bins(&im, STACK_MAIN + 0x9000, SLAB);
        uint64_t tls[2] = { STACK_MAIN + 0xa000, 0 };
        CHECK_EQ_INT(heap_jemalloc_tcaches(&mem, tls, 2, &l), 0);
        CHECK_EQ_INT(l.n_skip, 1);
        CHECK(l.n_skip == 1 && l.skip[0].start == STACKS + 0x8 && l.skip[0].end == STACKS + 0x8 + 10 * 0x40);
        heap_layout_done(&l);
        /* a broken chain is no cache: nothing skipped */
        put16(&im, STACK_MAIN + 0x9000 + 24 * 3 + 18, 0x1230);
        CHECK_EQ_INT(heap_jemalloc_tcaches(&mem, tls, 2, &l), 0);
        CHECK_EQ_INT(l.n_skip, 0);
        heap_layout_done(&l);

        /* a slab whose size is no multiple of its class's: refused */
        put(&im, EDATA(0) + 16, 0x4000);
        CHECK_EQ_INT(heap_jemalloc_walk(&mem, maps, n, &l, &note), -EAGAIN);
        CHECK(note != NULL);
        put(&im, EDATA(0) + 16, 0x5000);
        /* an extent that does not start at its first page: refused */
        put(&im, EDATA(2) + 8, STACKS + 0x1000);
        CHECK_EQ_INT(heap_jemalloc_walk(&mem, maps, n, &l, &note), -EAGAIN);
        map_entries_free(maps, n);
        image_free(&im);

        /* another version: its layout is not known */
        image_init(&im, "5.2.1-0-gea6b3e973b477b8061e0076bb257dbd7f3faa756");
        CHECK_EQ_INT(procfs_parse_maps(image_maps(&im), &maps, &n), 0);
        mem = memory(&im);
        note = NULL;
        CHECK_EQ_INT(heap_jemalloc_walk(&mem, maps, n, &l, &note), -EPROTO);
        CHECK(note && strstr(note, "5.3"));
        map_entries_free(maps, n);
        image_free(&im);

        /* no jemalloc at all */
        CHECK_EQ_INT(procfs_parse_maps("555555554000-555555556000 r-xp 00000000 08:01 1 /t/prog\n", &maps, &n), 0);
        CHECK_EQ_INT(heap_jemalloc_walk(&mem, maps, n, &l, &note), -ENOENT);
        map_entries_free(maps, n);
}

/* The scan on top: main (live, its thread cache below its thread pointer)
 * and a waiter on a condvar in the slab's first region, which jemalloc's
 * own edata points at (e_addr).  Unreachable when only that word, a stale
 * slot of the cache and the waiter's own stack name it; reachable from a
 * global, or from a live region. */
static void scan_case(uint64_t global_value, uint64_t stale, bool from_live_region, enum leakscan_reach want)
{
        struct image im;
        image_init(&im, "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c");
        put_bins(&im, STACK_MAIN + 0x9000, stale);
        put(&im, GLOBALS + 0x10, global_value);
        if (from_live_region) {
                put(&im, GLOBALS + 0x18, LARGE + 0x940);        /* a live large object... */
                put(&im, LARGE + 0x2000, SLAB + 0x10);          /* ...points into region 0 */
        }
        uint64_t cond = SLAB + 0x28 + 0x20;
        put(&im, STACK_W + STACK_LEN - 0x4000 + 0x18, SLAB);   /* the waiter's own frame */
        struct leakscan_thread t[2] = {0};
        struct leakscan_frame f[2][2] = {0};
        t[0] = (struct leakscan_thread) { .tid = 100, .main = true, .state = LEAKSCAN_STATE_SIGNAL_WAIT,
                                          .proposed = LEAKSCAN_VERDICT_BLOCKED, .tls = STACK_MAIN + 0xa000,
                                          .frames = f[0], .n_frames = 2 };
        f[0][0].sp = STACK_MAIN + 0xb000;
        f[0][1].sp = STACK_MAIN + 0xb100;
        t[1] = (struct leakscan_thread) { .tid = 101, .state = LEAKSCAN_STATE_CONDVAR,
                                          .proposed = LEAKSCAN_VERDICT_BLOCKED, .tls = STACK_W + STACK_LEN - 0x800,
                                          .frames = f[1], .n_frames = 2, .has_wait_address = true,
                                          .wait_address = cond };
        f[1][0].sp = STACK_W + STACK_LEN - 0x4000;
        f[1][1].sp = STACK_W + STACK_LEN - 0x3f00;
        struct leakscan_process p = { .pid = 100, .threads = t, .n_threads = 2 };
        struct reach_result res[2];
        struct reach_input in = { .process = &p, .maps_text = image_maps(&im),
                                  .scan_limit = REACH_DEFAULT_SCAN_LIMIT, .mem = memory(&im) };
        CHECK_EQ_INT(reach_scan(&in, res, NULL), 0);
        CHECK_EQ_STR(leakscan_reach_to_string(res[1].reach), leakscan_reach_to_string(want));
        if (res[1].reach != want && res[1].note)
                fprintf(stderr, "  note: %s\n", res[1].note);
        image_free(&im);
}

static void test_scan(void)
{
        scan_case(0, SLAB, false, LEAKSCAN_REACH_UNREACHABLE);         /* stale slot, e_addr only */
        scan_case(SLAB + 0x28, SLAB, false, LEAKSCAN_REACH_REACHABLE); /* a global points inside */
        scan_case(0, SLAB, true, LEAKSCAN_REACH_REACHABLE);            /* through a live object */
        scan_case(0, 0, false, LEAKSCAN_REACH_UNREACHABLE);
}

int main(void)
{
        test_walk();
        test_scan();
        return CHECK_DONE();
}
