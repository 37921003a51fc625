/* Unit tests of the tcmalloc 2.10 heap walk on a synthetic image: the
 * library's version string, its .bss holding the size class table and the
 * page map's root, a leaf and Spans in [heap] (tcmalloc's sbrk memory), a
 * span of 48-byte objects, a large span and a free one; then refusals: no
 * size class table, another version, a span shorter than its class. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap-tcmalloc.h"

#define LIB      "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4.5.10"
#define TC_RO    0x7f1000000000ull
#define TC_DATA  0x7f1000010000ull
#define TC_BSS   0x7f1000011000ull
#define TC_BSS_LEN 0x1c0000ull
#define CLASSES  (TC_BSS + 0x400)       /* class_to_size_, then class_to_pages_ */
#define ROOT     (TC_BSS + 0x10000)
#define HEAP     0x555556000000ull      /* [heap]: pages, leaf, spans */
#define HEAP_LEN 0x400000ull
#define LEAF     (HEAP + 0x100000)
#define SPANS    (HEAP + 0x300000)
#define SMALL    HEAP                   /* 1 page of 48-byte objects */
#define LARGE    (HEAP + 0x4000)        /* 3 pages */
#define FREE     (HEAP + 0xa000)        /* 2 free pages */

struct segment { uint64_t addr, len; uint8_t *bytes; char line[160]; };
static struct segment seg[4];
static size_t n_seg;
static char maps[1024];

static void add(uint64_t addr, uint64_t len, const char *perms, const char *path)
{
        struct segment *s = &seg[n_seg++];
        s->addr = addr;
        s->len = len;
        s->bytes = calloc(1, len);
        snprintf(s->line, sizeof s->line, "%lx-%lx %s 00000000 %s %s\n", (unsigned long) addr,
                 (unsigned long) (addr + len), perms, path[0] == '/' ? "08:01 4242" : "00:00 0", path);
}

static uint8_t *at(uint64_t addr)
{
        for (size_t i = 0; i < n_seg; i++)
                if (addr >= seg[i].addr && addr < seg[i].addr + seg[i].len)
                        return seg[i].bytes + (addr - seg[i].addr);
        abort();
}

static void put(uint64_t addr, uint64_t v) { memcpy(at(addr), &v, 8); }
static void put32(uint64_t addr, uint32_t v) { memcpy(at(addr), &v, 4); }

static ssize_t image_read(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        (void) userdata;
        ssize_t done = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = (uint64_t) (uintptr_t) remote[i].iov_base, len = remote[i].iov_len;
                uint8_t *out = local[i].iov_base;
                while (len > 0) {
                        const struct segment *s = NULL;
                        for (size_t k = 0; k < n_seg; k++)
                                if (a >= seg[k].addr && a < seg[k].addr + seg[k].len)
                                        s = &seg[k];
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

/* a Span at addr: start page, pages, size class, location */
static void span(uint64_t addr, uint64_t start, uint64_t pages, unsigned cl, unsigned location)
{
        put(addr, start >> 13);
        put(addr + 8, pages);
        put32(addr + 40, (uint32_t) (1 | cl << 16 | location << 24));
        for (uint64_t p = 0; p < pages; p++)
                if (cl || p == 0 || p == pages - 1)
                        put(LEAF + 8 * (((start >> 13) + p) & 0x3ffff), addr);
}

static void image(const char *version)
{
        for (size_t i = 0; i < n_seg; i++)
                free(seg[i].bytes);
        n_seg = 0;
        add(HEAP, HEAP_LEN, "rw-p", "[heap]");   /* in address order, as the kernel prints them */
        add(TC_RO, 0x1000, "r--p", LIB);
        add(TC_DATA, 0x1000, "rw-p", LIB);
        add(TC_BSS, TC_BSS_LEN, "rw-p", "");
        memcpy(at(TC_RO + 0x201), version, strlen(version) + 1);
        static const uint32_t sizes[] = { 0, 8, 16, 32, 48, 64, 80, 96, 112, 128, 144 };
        for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
                put32(CLASSES + 4 * c, sizes[c]);
                put(CLASSES + 512 + 8 * c, c ? 1 : 0);
        }
        put(ROOT + 8 * (HEAP >> 31), LEAF);
        span(SPANS, SMALL, 1, 4, 0);
        span(SPANS + 64, LARGE, 3, 0, 0);
        span(SPANS + 128, FREE, 2, 0, 1);
        size_t used = 0;
        for (size_t i = 0; i < n_seg; i++)
                used += (size_t) snprintf(maps + used, sizeof maps - used, "%s", seg[i].line);
}

int main(void)
{
        image("gperftools 2.10");
        struct map_entry *m;
        size_t n;
        CHECK_EQ_INT(procfs_parse_maps(maps, &m, &n), 0);
        struct reach_memory mem = { image_read, NULL, NULL };
        struct heap_layout l = {0};
        const char *note = NULL;
        CHECK_EQ_INT(heap_tcmalloc_walk(&mem, m, n, &l, &note), 0);
        CHECK_EQ_INT(l.n_runs, 3);
        if (l.n_runs == 3) {
                CHECK(l.runs[0].start == SMALL && l.runs[0].end == SMALL + 0x2000 && l.runs[0].size == 48);
                CHECK(l.runs[1].start == LARGE && l.runs[1].end == LARGE + 0x6000 && l.runs[1].size == 0x6000);
                CHECK(l.runs[2].start == FREE && l.runs[2].size == 0x4000);
        }
        heap_layout_done(&l);

        /* a small span shorter than its class's pages: refused */
        put(CLASSES + 512 + 8 * 4, 2);
        CHECK_EQ_INT(heap_tcmalloc_walk(&mem, m, n, &l, &note), -EAGAIN);
        put(CLASSES + 512 + 8 * 4, 1);
        /* no size class table */
        put32(CLASSES + 4, 9);
        note = NULL;
        CHECK_EQ_INT(heap_tcmalloc_walk(&mem, m, n, &l, &note), -EPROTO);
        CHECK(note != NULL);
        map_entries_free(m, n);

        image("gperftools 2.9.1");
        CHECK_EQ_INT(procfs_parse_maps(maps, &m, &n), 0);
        note = NULL;
        CHECK_EQ_INT(heap_tcmalloc_walk(&mem, m, n, &l, &note), -EPROTO);
        CHECK(note && strstr(note, "2.10"));
        map_entries_free(m, n);

        CHECK_EQ_INT(procfs_parse_maps("555556000000-555556400000 rw-p 00000000 00:00 0 [heap]\n", &m, &n), 0);
        CHECK_EQ_INT(heap_tcmalloc_walk(&mem, m, n, &l, &note), -ENOENT);
        map_entries_free(m, n);
        for (size_t i = 0; i < n_seg; i++)
                free(seg[i].bytes);
        return CHECK_DONE();
}
