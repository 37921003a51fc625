/* Unit tests of the reachability scan on synthetic memory images: a
 * module's data, a glibc-shaped main heap, another arena's heap, an mmapped
 * chunk and thread stacks, served through the memory callback (no ptrace).
 * Each scenario is checked both ways: with the pointer that keeps the
 * object and without it, so every check can fail. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "reach.h"

#define GLOBALS   0x555555558000ull     /* a module's .data */
#define HEAP      0x555555560000ull     /* [heap] */
#define HEAP_LEN  0x20000ull
#define ARENA     0x7f0004000000ull     /* another arena's heap: 64 MiB aligned */
#define ARENA_LEN 0x20000ull
#define MMCHUNK   0x7f0040000000ull     /* an mmapped chunk */
#define ANON      0x7f0050000000ull     /* anonymous memory of unknown use */
#define STACK_L   0x7f0010000000ull     /* stacks of 64 KiB */
#define STACK_W1  0x7f0020000000ull
#define STACK_W2  0x7f0030000000ull
#define STACK_W3  0x7f0060000000ull
#define STACK_LEN 0x10000ull
#define STACK_MAIN 0x7ffffffef000ull

struct segment {
        uint64_t addr, len;
        uint8_t *bytes;
        char line[160];         /* its line of /proc/PID/maps */
};

struct image {
        struct segment seg[16];
        size_t n;
        char maps[4096];
        int fail_reads;         /* reads of GLOBALS fail: memory changed */
        uint64_t heap_next, arena_next;
};

static struct segment *add_segment(struct image *im, uint64_t addr, uint64_t len, const char *perms,
                                   const char *path)
{
        struct segment *s = &im->seg[im->n++];
        s->addr = addr;
        s->len = len;
        s->bytes = calloc(1, len);
        snprintf(s->line, sizeof s->line, "%lx-%lx %s 00000000 %s %s\n",
                 (unsigned long) addr, (unsigned long) (addr + len), perms,
                 path[0] == '/' ? "08:01 4242     " : "00:00 0        ", path);
        return s;
}

/* The maps text, sorted by address as the kernel prints it. */
static const char *image_maps(struct image *im)
{
        bool done[16] = {0};
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

static uint8_t *at(struct image *im, uint64_t addr)
{
        for (size_t i = 0; i < im->n; i++)
                if (addr >= im->seg[i].addr && addr < im->seg[i].addr + im->seg[i].len)
                        return im->seg[i].bytes + (addr - im->seg[i].addr);
        fprintf(stderr, "no segment at %#lx\n", (unsigned long) addr);
        abort();
}

static void put(struct image *im, uint64_t addr, uint64_t value)
{
        memcpy(at(im, addr), &value, 8);
}

static uint64_t get(struct image *im, uint64_t addr)
{
        uint64_t v;
        memcpy(&v, at(im, addr), 8);
        return v;
}

static ssize_t image_read(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n)
{
        struct image *im = userdata;
        ssize_t done = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = (uint64_t) (uintptr_t) remote[i].iov_base, len = remote[i].iov_len;
                const struct segment *s = NULL;
                for (size_t k = 0; k < im->n; k++)
                        if (a >= im->seg[k].addr && a + len <= im->seg[k].addr + im->seg[k].len)
                                s = &im->seg[k];
                if (!s || (im->fail_reads && a >= GLOBALS && a < GLOBALS + 0x1000))
                        return done ? done : -EFAULT;
                memcpy(local[i].iov_base, s->bytes + (a - s->addr), len);
                done += (ssize_t) len;
        }
        return done;
}

/* A chunk of user size bytes in the heap whose allocation cursor is *next,
 * ending at end; the rest becomes the top chunk.  Returns the user pointer. */
static uint64_t chunk_in(struct image *im, uint64_t *next, uint64_t end, uint64_t size, uint64_t flags)
{
        uint64_t c = *next, csize = (size + 8 + 15) / 16 * 16;
        if (csize < 32)
                csize = 32;
        put(im, c + 8, csize | 1 | flags);
        *next = c + csize;
        put(im, *next + 8, (end - *next) | 1);         /* top */
        return c + 16;
}

static uint64_t heap_alloc(struct image *im, uint64_t size)
{
        return chunk_in(im, &im->heap_next, HEAP + HEAP_LEN, size, 0);
}

static uint64_t arena_alloc(struct image *im, uint64_t size)
{
        return chunk_in(im, &im->arena_next, ARENA + ARENA_LEN, size, 4);
}

/* Frees the chunk of user pointer u: the next chunk's PREV_INUSE goes. */
static void heap_free(struct image *im, uint64_t u)
{
        uint64_t c = u - 16, size = get(im, c + 8) & ~7ull;
        put(im, c + size + 8, get(im, c + size + 8) & ~1ull);
}

static void image_init(struct image *im)
{
        memset(im, 0, sizeof *im);
        add_segment(im, 0x555555554000ull, 0x2000, "r-xp", "/t/prog");
        add_segment(im, GLOBALS, 0x1000, "rw-p", "/t/prog");
        add_segment(im, HEAP, HEAP_LEN, "rw-p", "[heap]");
        add_segment(im, ARENA, ARENA_LEN, "rw-p", "");
        add_segment(im, STACK_L, STACK_LEN, "rw-p", "");
        add_segment(im, STACK_W1, STACK_LEN, "rw-p", "");
        add_segment(im, STACK_W2, STACK_LEN, "rw-p", "");
        add_segment(im, STACK_W3, STACK_LEN, "rw-p", "");
        add_segment(im, MMCHUNK, 0x8000, "rw-p", "");   /* past the page cache: read whole */
        add_segment(im, ANON, 0x1000, "rw-p", "");
        add_segment(im, STACK_MAIN, STACK_LEN, "rw-p", "[stack]");
        im->heap_next = HEAP;
        put(im, HEAP + 8, HEAP_LEN | 1);
        /* heap_info: ar_ptr (the arena right after it), prev, size,
         * mprotect_size, pagesize; the arena's 2200 bytes; then chunks */
        put(im, ARENA, ARENA + 48);
        put(im, ARENA + 16, ARENA_LEN);
        put(im, ARENA + 24, ARENA_LEN);
        put(im, ARENA + 32, 4096);
        put(im, ARENA + 48 + 8 * 12, ARENA + 0x900);    /* a pointer in the arena (bins) */
        im->arena_next = ARENA + 2256;
        put(im, im->arena_next + 8, (ARENA + ARENA_LEN - im->arena_next) | 1);
        put(im, MMCHUNK + 8, 0x8000 | 2);
}

static void image_free(struct image *im)
{
        for (size_t i = 0; i < im->n; i++)
                free(im->seg[i].bytes);
}

/* Threads: 0 main (signal wait, live), 1 live worker L, 2 and 3 waiters W1,
 * W2 on futex objects, 4 a thread W3 that the test sets up. */
struct fixture {
        struct leakscan_process p;
        struct leakscan_thread t[5];
        struct leakscan_frame f[5][4];
        struct reach_result res[5];
        struct reach_stats st;
        uint64_t limit;
};

static void thread_on_stack(struct fixture *fx, size_t i, uint64_t stack, enum leakscan_state state,
                            enum leakscan_verdict verdict)
{
        struct leakscan_thread *t = &fx->t[i];
        t->tid = 100 + (pid_t) i;
        t->state = state;
        t->proposed = verdict;
        t->tls = stack + STACK_LEN - 0x800;             /* struct pthread at the top */
        /* frames at sp, +0x100, +0x200, +0x300 from 0x4000 below the top */
        for (int k = 0; k < 4; k++)
                fx->f[i][k].sp = stack + STACK_LEN - 0x4000 + 0x100 * (uint64_t) k;
        t->frames = fx->f[i];
        t->n_frames = 4;
}

static void fixture_init(struct fixture *fx)
{
        memset(fx, 0, sizeof *fx);
        fx->p.pid = 100;
        fx->p.threads = fx->t;
        fx->p.n_threads = 5;
        thread_on_stack(fx, 0, STACK_MAIN, LEAKSCAN_STATE_SIGNAL_WAIT, LEAKSCAN_VERDICT_BLOCKED);
        fx->t[0].main = true;
        fx->t[0].tls = ANON + 0x800;
        thread_on_stack(fx, 1, STACK_L, LEAKSCAN_STATE_RUNNING, LEAKSCAN_VERDICT_RUNNING);
        thread_on_stack(fx, 2, STACK_W1, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_BLOCKED);
        thread_on_stack(fx, 3, STACK_W2, LEAKSCAN_STATE_MUTEX, LEAKSCAN_VERDICT_BLOCKED);
        thread_on_stack(fx, 4, STACK_W3, LEAKSCAN_STATE_SLEEP, LEAKSCAN_VERDICT_TIMED);
}

static void waits_on(struct fixture *fx, size_t i, uint64_t addr)
{
        fx->t[i].has_wait_address = true;
        fx->t[i].wait_address = addr;
}

static int run(struct fixture *fx, struct image *im)
{
        struct reach_input in = {
                .process = &fx->p,
                .maps_text = image_maps(im),
                .scan_limit = fx->limit ? fx->limit : REACH_DEFAULT_SCAN_LIMIT,
                .mem = { image_read, NULL, im },
        };
        return reach_scan(&in, fx->res, &fx->st);
}

/* A word on a live thread's stack, just above its SP. */
static uint64_t live_slot(size_t k)
{
        return STACK_L + STACK_LEN - 0x4000 + 8 * k;
}

/* A word in frame 1 of waiter stack base. */
static uint64_t frame1(uint64_t stack, size_t k)
{
        return stack + STACK_LEN - 0x4000 + 0x100 + 8 * k;
}

static void test_chain_and_interior_pointers(void)
{
        for (int kept = 0; kept < 2; kept++) {
                struct image im;
                struct fixture fx;
                image_init(&im);
                fixture_init(&fx);
                uint64_t a = heap_alloc(&im, 100), b = heap_alloc(&im, 200);
                put(&im, a + 40, (b + 56) | 0x2a00000000000000ull);    /* interior, tagged */
                if (kept)
                        put(&im, GLOBALS + 0x10, a + 24);
                waits_on(&fx, 2, b + 32 + 8);           /* a condvar's futex word in b */
                put(&im, frame1(STACK_W1, 0), b + 32);  /* the waiter's own stack: no root */
                CHECK_EQ_INT(run(&fx, &im), 0);
                CHECK_EQ_INT(fx.res[2].reach, kept ? LEAKSCAN_REACH_REACHABLE : LEAKSCAN_REACH_UNREACHABLE);
                CHECK_EQ_INT(fx.res[1].reach, LEAKSCAN_REACH_NONE);
                CHECK_EQ_INT(fx.res[4].reach, LEAKSCAN_REACH_NONE);
                CHECK(fx.st.n_chunks >= 3);
                CHECK(!fx.st.skipped);
                image_free(&im);
        }
}

static void test_cycle(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t a = heap_alloc(&im, 64), b = heap_alloc(&im, 64);
        put(&im, a, b);
        put(&im, b, a);
        waits_on(&fx, 2, a + 16);
        waits_on(&fx, 3, b + 16);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_UNREACHABLE);
        /* one pointer from a live thread's stack into the cycle keeps both */
        put(&im, live_slot(3), b + 8);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_REACHABLE);
        image_free(&im);
}

static void test_stack_roots(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        /* below the live thread's SP (past the red zone): dead, not scanned */
        put(&im, STACK_L + STACK_LEN - 0x4000 - 0x200, b);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        /* in its TLS, above its frames: its own */
        put(&im, STACK_L + STACK_LEN - 0x900, b);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        /* in a register of the live thread */
        put(&im, STACK_L + STACK_LEN - 0x900, 0);
        uint64_t regs[3] = { 0, b + 8, 0 };
        struct reach_thread rt[5] = { [1] = { .regs = regs, .n_regs = 3 } };
        struct reach_input in = { .process = &fx.p, .maps_text = image_maps(&im), .threads = rt,
                                  .scan_limit = 1 << 30, .mem = { image_read, NULL, &im } };
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        /* without the registers: nothing */
        rt[1].n_regs = 0;
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        /* a stuck (deadlocked) thread's stack is no root */
        fx.t[4].state = LEAKSCAN_STATE_MUTEX;
        fx.t[4].proposed = LEAKSCAN_VERDICT_DEADLOCK;
        waits_on(&fx, 4, GLOBALS + 0x100);
        put(&im, frame1(STACK_W3, 0), b);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        CHECK_EQ_INT(fx.res[4].reach, LEAKSCAN_REACH_NONE);
        /* ... but a timed waiter's is */
        fx.t[4].state = LEAKSCAN_STATE_SLEEP;
        fx.t[4].proposed = LEAKSCAN_VERDICT_TIMED;
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        image_free(&im);
}

static void test_waiter_chain(void)
{
        for (int kept = 0; kept < 2; kept++) {
                struct image im;
                struct fixture fx;
                image_init(&im);
                fixture_init(&fx);
                uint64_t c1 = heap_alloc(&im, 48), c2 = heap_alloc(&im, 48);
                waits_on(&fx, 2, c1 + 32);
                waits_on(&fx, 3, c2);
                put(&im, frame1(STACK_W1, 2), c2);      /* W1 would release c2's waiter */
                if (kept)
                        put(&im, live_slot(0), c1);
                CHECK_EQ_INT(run(&fx, &im), 0);
                enum leakscan_reach want = kept ? LEAKSCAN_REACH_REACHABLE : LEAKSCAN_REACH_UNREACHABLE;
                CHECK_EQ_INT(fx.res[2].reach, want);
                CHECK_EQ_INT(fx.res[3].reach, want);
                /* a joiner of a live thread is live too */
                if (!kept) {
                        fx.t[4].state = LEAKSCAN_STATE_JOIN;
                        fx.t[4].proposed = LEAKSCAN_VERDICT_BLOCKED;
                        fx.t[4].joined_tid = fx.t[2].tid;       /* joins a waiter: no help */
                        put(&im, frame1(STACK_W3, 1), c1);
                        CHECK_EQ_INT(run(&fx, &im), 0);
                        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
                        CHECK_EQ_INT(fx.res[4].reach, LEAKSCAN_REACH_NONE);
                        fx.t[4].joined_tid = fx.t[1].tid;       /* joins a live thread */
                        CHECK_EQ_INT(run(&fx, &im), 0);
                        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
                        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_REACHABLE);
                }
                image_free(&im);
        }
}

static void test_stack_objects(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t cv = frame1(STACK_W1, 4);              /* a condvar in W1's frame 1 */
        waits_on(&fx, 2, cv + 32);
        /* glibc's list of threads points at every struct pthread */
        put(&im, GLOBALS + 0x40, fx.t[2].tls + 0x2c0);
        /* and a pointer into another of its frames (frame 2) */
        put(&im, GLOBALS + 0x48, frame1(STACK_W1, 0) + 0x100);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        /* published: a global points into its frame; and what that frame
         * points at is scanned: W2's object */
        uint64_t m = heap_alloc(&im, 40);
        waits_on(&fx, 3, m);
        put(&im, frame1(STACK_W1, 1), m);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_UNREACHABLE);
        put(&im, GLOBALS + 0x50, cv);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_REACHABLE);
        /* an object on a live thread's stack is reachable */
        put(&im, GLOBALS + 0x50, 0);
        waits_on(&fx, 3, live_slot(6));
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_REACHABLE);
        image_free(&im);
}

/* A thread's stack mapping that the kernel merged with other memory above
 * it: past the page of its struct pthread, that memory is a root. */
static void test_merged_stack_mapping(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        fx.t[4].state = LEAKSCAN_STATE_CONDVAR;
        fx.t[4].proposed = LEAKSCAN_VERDICT_BLOCKED;
        waits_on(&fx, 4, frame1(STACK_W3, 3));         /* on its own stack: it stays no root */
        fx.t[4].tls = STACK_W3 + STACK_LEN - 0x2800;    /* its block ends 0x2000 below the mapping's end */
        put(&im, fx.t[4].tls + 0x10, b);                /* its own struct pthread: no root */
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        put(&im, STACK_W3 + STACK_LEN - 0x1000, b);     /* the memory merged above */
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        image_free(&im);
}

static void test_mmapped_and_arena(void)
{
        for (int kept = 0; kept < 2; kept++) {
                struct image im;
                struct fixture fx;
                image_init(&im);
                fixture_init(&fx);
                uint64_t x = arena_alloc(&im, 64), y = arena_alloc(&im, 300);
                waits_on(&fx, 2, MMCHUNK + 0x1000);     /* deep inside the mmapped chunk */
                waits_on(&fx, 3, y + 100);
                put(&im, x + 8, y + 200);
                if (kept) {
                        put(&im, GLOBALS + 0x20, MMCHUNK + 16);
                        put(&im, MMCHUNK + 0x7ff8, x);  /* the mmapped chunk keeps x, x keeps y */
                }
                CHECK_EQ_INT(run(&fx, &im), 0);
                enum leakscan_reach want = kept ? LEAKSCAN_REACH_REACHABLE : LEAKSCAN_REACH_UNREACHABLE;
                CHECK_EQ_INT(fx.res[2].reach, want);
                CHECK_EQ_INT(fx.res[3].reach, want);
                image_free(&im);
        }
}

static void test_free_chunks_are_not_scanned(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t a = heap_alloc(&im, 64), b = heap_alloc(&im, 64);
        (void) heap_alloc(&im, 64);
        put(&im, a, b);
        put(&im, GLOBALS, a);           /* a dangling pointer to a freed chunk */
        waits_on(&fx, 2, b);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        heap_free(&im, a);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        image_free(&im);
}

static void test_unknowns(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        /* the scan limit */
        fx.limit = 4096;
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNKNOWN);
        CHECK(fx.res[2].note && strstr(fx.res[2].note, "--scan-limit"));
        CHECK(fx.st.scanned_bytes <= 4096);
        fx.limit = 0;
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        CHECK(fx.st.scanned_bytes > 4096);
        /* an object in anonymous memory that is no malloc chunk */
        waits_on(&fx, 3, ANON + 0x80);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_UNKNOWN);
        CHECK(fx.res[3].note != NULL);
        /* memory that changed under the scan */
        im.fail_reads = 1;
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNKNOWN);
        im.fail_reads = 0;
        /* a heap that is not glibc's: a size word that does not fit */
        uint64_t saved = get(&im, HEAP + 8);
        put(&im, HEAP + 8, 0x123457);
        for (uint64_t off = 16; off < 65536 + 32; off += 16)
                if (get(&im, HEAP + off + 8) & 1)
                        put(&im, HEAP + off + 8, get(&im, HEAP + off + 8) & ~1ull);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNKNOWN);
        CHECK(fx.res[2].note && strstr(fx.res[2].note, "heap"));
        put(&im, HEAP + 8, saved);
        image_free(&im);

        /* another allocator */
        image_init(&im);
        fixture_init(&fx);
        b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        add_segment(&im, 0x7f00aa000000ull, 0x1000, "r-xp", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNKNOWN);
        CHECK(fx.res[2].note && strstr(fx.res[2].note, "jemalloc"));
        CHECK_EQ_INT(fx.st.scanned_bytes, 0);
        image_free(&im);

        /* pointers the kernel holds where the scan cannot see */
        image_init(&im);
        fixture_init(&fx);
        b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        struct reach_input in = { .process = &fx.p, .maps_text = image_maps(&im), .scan_limit = 1 << 30,
                                  .blind = "io_uring", .mem = { image_read, NULL, &im } };
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNKNOWN);
        CHECK_EQ_STR(fx.res[2].note, "io_uring");
        in.blind = NULL;
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        image_free(&im);
}

/* Pages the target never wrote are skipped (reading them would fault them
 * in); a callback that fails makes every page count. */
static int untouched_anon;
static int image_touched(void *userdata, uint64_t addr, size_t n, bool *ret)
{
        (void) userdata;
        if (untouched_anon < 0)
                return -EIO;
        for (size_t i = 0; i < n; i++)
                ret[i] = !(untouched_anon && addr + i * 4096 >= ANON && addr + i * 4096 < ANON + 0x1000);
        return 0;
}

static void test_untouched_pages(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        uint64_t b = heap_alloc(&im, 64);
        waits_on(&fx, 2, b);
        put(&im, ANON + 0x40, b);       /* a page the callback calls untouched */
        struct reach_input in = { .process = &fx.p, .maps_text = image_maps(&im), .scan_limit = 1 << 30,
                                  .mem = { image_read, image_touched, &im } };
        untouched_anon = 1;
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_UNREACHABLE);
        untouched_anon = 0;
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        untouched_anon = -1;
        CHECK_EQ_INT(reach_scan(&in, fx.res, NULL), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        image_free(&im);
}

static void test_globals_cost_nothing(void)
{
        struct image im;
        struct fixture fx;
        image_init(&im);
        fixture_init(&fx);
        waits_on(&fx, 2, GLOBALS + 0x100);
        waits_on(&fx, 3, GLOBALS + 0x200);
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_REACHABLE);
        CHECK_EQ_INT(fx.res[3].reach, LEAKSCAN_REACH_REACHABLE);
        CHECK(fx.st.skipped);
        CHECK_EQ_INT(fx.st.scanned_bytes, 0);
        CHECK(!reach_needs_scan(&fx.p, image_maps(&im)));
        waits_on(&fx, 3, heap_alloc(&im, 32));
        CHECK(reach_needs_scan(&fx.p, image_maps(&im)));
        waits_on(&fx, 3, GLOBALS + 0x200);
        /* no candidate at all */
        fx.t[2].proposed = LEAKSCAN_VERDICT_ORPHANED;
        fx.t[3].proposed = LEAKSCAN_VERDICT_TIMED;
        CHECK_EQ_INT(run(&fx, &im), 0);
        CHECK_EQ_INT(fx.res[2].reach, LEAKSCAN_REACH_NONE);
        CHECK_EQ_INT(fx.st.scanned_bytes, 0);
        image_free(&im);
}

static void test_parse_size(void)
{
        uint64_t v = 1;
        CHECK_EQ_INT(reach_parse_size("256M", &v), 0);
        CHECK_EQ_INT(v, 256ull << 20);
        CHECK_EQ_INT(reach_parse_size("1GiB", &v), 0);
        CHECK_EQ_INT(v, 1ull << 30);
        CHECK_EQ_INT(reach_parse_size("4096", &v), 0);
        CHECK_EQ_INT(v, 4096);
        CHECK_EQ_INT(reach_parse_size("0", &v), 0);
        CHECK_EQ_INT(v, 0);
        CHECK_EQ_INT(reach_parse_size("12X", &v), -EINVAL);
        CHECK_EQ_INT(reach_parse_size("-1", &v), -EINVAL);
        CHECK_EQ_INT(reach_parse_size("", &v), -EINVAL);
        CHECK_EQ_STR(leakscan_reach_to_string(LEAKSCAN_REACH_UNREACHABLE), "unreachable");
}

int main(void)
{
        test_chain_and_interior_pointers();
        test_cycle();
        test_stack_roots();
        test_waiter_chain();
        test_stack_objects();
        test_mmapped_and_arena();
        test_merged_stack_mapping();
        test_free_chunks_are_not_scanned();
        test_unknowns();
        test_globals_cost_nothing();
        test_untouched_pages();
        test_parse_size();
        return CHECK_DONE();
}
