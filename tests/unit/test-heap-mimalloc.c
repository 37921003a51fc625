/* Unit tests of the mimalloc 2.0.9 heap walk on synthetic segments: a
 * normal segment with a page of small blocks (384 bytes in), a page of one
 * large block and a free span; a huge segment; and headers that do not tile
 * (no segment: refused with a note). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap-mimalloc.h"

#define SEG  0x7f0002000000ull  /* 32 MiB aligned */
#define HUGE 0x7f0004000000ull
#define SLICE 0x10000ull

static uint8_t seg_bytes[0x20000], huge_bytes[0x20000];

static ssize_t image_read(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        (void) userdata;
        ssize_t done = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = (uint64_t) (uintptr_t) remote[i].iov_base, len = remote[i].iov_len;
                uint8_t *src = a >= SEG && a + len <= SEG + sizeof seg_bytes ? seg_bytes + (a - SEG) :
                               a >= HUGE && a + len <= HUGE + sizeof huge_bytes ? huge_bytes + (a - HUGE) : NULL;
                if (!src)
                        return done ? done : -EFAULT;
                memcpy(local[i].iov_base, src, len);
                done += (ssize_t) len;
        }
        return done;
}

static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }

/* slice i: a span of count slices; xbs 0 for free */
static void span(uint8_t *b, size_t i, uint32_t count, uint32_t xbs, uint16_t capacity, uint16_t reserved)
{
        size_t sl = 264 + 80 * i;
        put32(b, sl, count);
        put32(b, sl + 4, 0);
        put16(b, sl + 10, capacity);
        put16(b, sl + 12, reserved);
        put32(b, sl + 28, xbs);
}

static void header(uint8_t *b, uint64_t slices, uint64_t kind, uint64_t entries)
{
        put64(b, 224, slices);
        put64(b, 232, 1);
        put64(b, 240, kind);
        put64(b, 248, entries);
}

int main(void)
{
        header(seg_bytes, 512, 0, 512);
        span(seg_bytes, 0, 1, 0x10000, 1, 1);           /* the header's own span */
        span(seg_bytes, 1, 1, 48, 10, 1357);            /* 48-byte blocks, 10 handed out */
        span(seg_bytes, 2, 8, 0x80000, 1, 1);           /* one 512 KiB block */
        span(seg_bytes, 10, 502, 0, 0, 0);              /* free */
        header(huge_bytes, 1000, 1, 512);
        span(huge_bytes, 0, 1, 0x10000, 1, 1);
        span(huge_bytes, 1, 999, 0x80000000u, 1, 1);    /* one block as large as the page */
        static const char maps[] =
                "7f0000000000-7f0000020000 r-xp 00000000 08:01 7 /usr/lib/x86_64-linux-gnu/libmimalloc.so.2.0\n"
                "7f0002000000-7f0004000000 rw-p 00000000 00:00 0 \n"
                "7f0004000000-7f0010000000 rw-p 00000000 00:00 0 \n";
        struct map_entry *m;
        size_t n;
        CHECK_EQ_INT(procfs_parse_maps(maps, &m, &n), 0);
        struct reach_memory mem = { image_read, NULL, NULL };
        struct heap_layout l = {0};
        const char *note = NULL;
        CHECK_EQ_INT(heap_mimalloc_walk(&mem, m, n, &l, &note), 0);
        CHECK_EQ_INT(l.n_runs, 3);
        if (l.n_runs == 3) {
                CHECK(l.runs[0].start == SEG + SLICE + 384 && l.runs[0].end == SEG + SLICE + 384 + 480 &&
                      l.runs[0].size == 48);
                CHECK(l.runs[1].start == SEG + 2 * SLICE && l.runs[1].size == 0x80000 &&
                      l.runs[1].end == SEG + 2 * SLICE + 0x80000);
                CHECK(l.runs[2].start == HUGE + SLICE && l.runs[2].size == 999 * SLICE);
        }
        heap_layout_done(&l);

        /* spans that do not tile: neither is a segment */
        span(seg_bytes, 10, 501, 0, 0, 0);
        span(huge_bytes, 1, 0, 0x80000000u, 1, 1);
        note = NULL;
        CHECK_EQ_INT(heap_mimalloc_walk(&mem, m, n, &l, &note), -EPROTO);
        CHECK(note && strstr(note, "2.0.9"));
        /* more handed out than fits */
        span(seg_bytes, 10, 502, 0, 0, 0);
        span(seg_bytes, 1, 1, 48, 1400, 1400);
        CHECK_EQ_INT(heap_mimalloc_walk(&mem, m, n, &l, &note), -EPROTO);
        map_entries_free(m, n);

        /* no mimalloc */
        CHECK_EQ_INT(procfs_parse_maps("7f0002000000-7f0004000000 rw-p 00000000 00:00 0 \n", &m, &n), 0);
        CHECK_EQ_INT(heap_mimalloc_walk(&mem, m, n, &l, &note), -ENOENT);
        map_entries_free(m, n);
        return CHECK_DONE();
}
