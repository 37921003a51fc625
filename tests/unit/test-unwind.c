/* Unit tests of the unwinder backends without ptrace: a thread of this very
 * process blocks in read() at the bottom of a known call chain; its pc, stack
 * pointer and stack window come from /proc and process_vm_readv on
 * ourselves (capture_blocked_thread), and every offline backend must unwind
 * that copy to the same frames, through the chain.  Also the helpers every
 * backend shares: runaway detection and the stack window read; and libdw
 * on a thread caught in an epilogue (asm-epilogue.S). */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "symbolize.h"
#include "unwind.h"
#include "util.h"

#define NOINLINE __attribute__((noinline))

static int fds[2];

NOINLINE static void blocked_in_read(void)
{
        char c;
        (void) !read(fds[0], &c, 1);
        __asm__ volatile("");   /* not a tail call */
}

NOINLINE static void level(int n)
{
        if (n == 0)
                blocked_in_read();
        else
                level(n - 1);
        __asm__ volatile("");
}

static void *helper(void *arg)
{
        (void) arg;
        level(3);
        return NULL;
}

/* Unwinds t with backend u and symbolizes it: function names, outermost
 * last, in *names (n_names).  Returns the pcs' count, or -1. */
static int unwind_with(const struct unwinder *u, struct modules *mods, struct process_capture *cap,
                       struct symbolizer *sym, const struct thread_capture *t, uint64_t *pcs, char names[][64],
                       size_t max)
{
        void *state = NULL;
        struct unwound_stack st = {0};
        if (u->attach(mods, cap, &state) < 0)
                return -1;
        int r = u->unwind_thread(state, t, 256, &st);
        u->detach(state);
        if (r < 0)
                return -1;
        size_t n = 0;
        for (size_t i = 0; i < st.n && n < max; i++) {
                struct leakscan_frame *f = NULL;
                size_t nf = 0;
                pcs[n] = st.frames[i].pc;
                names[n][0] = 0;
                if (symbolize_pc(sym, st.frames[i].pc, st.frames[i].activation, &f, &nf) == 0 && nf > 0 &&
                    f[nf - 1].function)
                        snprintf(names[n], 64, "%s", f[nf - 1].function);
                frames_free(f, nf);
                n++;
        }
        free(st.frames);
        return (int) n;
}

static void check_self_unwind(void)
{
        pthread_t th;
        CHECK(pipe(fds) == 0);
        CHECK(pthread_create(&th, NULL, helper, NULL) == 0);
        struct process_capture *cap = process_capture_new(getpid());
        CHECK(cap != NULL);
        pid_t tid = 0;
        /* find the helper (our only other thread) blocked in read */
        struct thread_capture t = {0};
        for (int tries = 0; tries < 500; tries++) {
                /* the helper's tid: the task that is not us */
                DIR *d = opendir("/proc/self/task");
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.' && atoi(de->d_name) != (int) gettid())
                                tid = atoi(de->d_name);
                if (d)
                        closedir(d);
                if (tid && capture_blocked_thread(getpid(), tid, 64 * 1024, &t) == 0 && t.syscall_nr == 0)
                        break;
                free(t.stack);
                t = (struct thread_capture) {0};
                usleep(2000);
        }
        CHECK(t.regs_valid && t.syscall_nr == 0);
        _cleanup_free_ char *maps = NULL;
        CHECK(read_full_file("/proc/self/maps", &maps) > 0);
        struct modules *mods = NULL;
        CHECK(modules_new(getpid(), maps, &mods) == 0);
        struct symbolizer *sym = mods ? symbolizer_new(mods, false) : NULL;

        const char *backends[] = { "libdw", "libunwind" };
        uint64_t pcs[2][64];
        char names[2][64][64];
        int n[2] = { -1, -1 };
        for (size_t b = 0; b < ARRAY_SIZE(backends) && sym; b++) {
                const struct unwinder *u = unwinder_find(backends[b]);
                if (!u) {
                        printf("unwinder %s not built in: skipped\n", backends[b]);
                        continue;
                }
                n[b] = unwind_with(u, mods, cap, sym, &t, pcs[b], names[b], 64);
                /* read <- blocked_in_read <- level x4 <- helper <- start_thread <- clone3 */
                CHECK(n[b] >= 8);
                int chain = 0;
                for (int i = 0; i < n[b]; i++)
                        if (streq(names[b][i], "level"))
                                chain++;
                CHECK_EQ_INT(chain, 4);
                CHECK(n[b] >= 2 && streq(names[b][1], "blocked_in_read"));
        }
        if (n[0] >= 0 && n[1] >= 0) {
                CHECK_EQ_INT(n[1], n[0]);
                for (int i = 0; i < n[0] && i < n[1]; i++)
                        CHECK(pcs[0][i] == pcs[1][i]);
        }
        symbolizer_free(sym);
        modules_free(mods);
        free(t.stack);
        process_capture_free(cap);
        CHECK(write(fds[1], "x", 1) == 1);
        pthread_join(th, NULL);
}

/* asm-epilogue.S */
void epi_inner(void), epi_inner_ret(void), epi_outer_after(void), epi_root_after(void);

/* A thread stopped at epi_inner's `ret`, after its `leave`: the stack
 * pointer at the return address into epi_outer, rbp back to epi_outer's
 * frame, whose record holds epi_root's frame and return address.  The
 * rule at that pc still says rbp was saved at CFA-16, a slot below the
 * copy: libdw must take rbp's value from the register (the popped slot),
 * or the unwind ends at epi_outer. */
static void check_epilogue_unwind(void)
{
        struct process_capture *cap = process_capture_new(getpid());
        CHECK(cap != NULL);
        _cleanup_free_ char *maps = NULL;
        CHECK(read_full_file("/proc/self/maps", &maps) > 0);
        struct modules *mods = NULL;
        CHECK(modules_new(getpid(), maps, &mods) == 0);
        struct symbolizer *sym = mods ? symbolizer_new(mods, false) : NULL;
        const struct unwinder *u = unwinder_find("libdw");
        CHECK(u != NULL && sym != NULL);
        if (!u || !sym || !cap) {
                symbolizer_free(sym);
                modules_free(mods);
                process_capture_free(cap);
                return;
        }
        const uint64_t base = 0x7f0000001000;
        uint64_t words[8] = {
                (uint64_t) (uintptr_t) epi_outer_after,        /* base: epi_inner's return address */
                base + 24,                                      /* base + 8, epi_outer's record: epi_root's rbp */
                (uint64_t) (uintptr_t) epi_root_after,         /* its return address */
                0, 0,                                           /* base + 24, epi_root's record: the end */
        };
        struct thread_capture t = { .tid = getpid(), .regs_valid = true, .stack = (uint8_t *) words,
                                    .stack_addr = base, .stack_len = sizeof words };
        t.regs.rip = (uint64_t) (uintptr_t) epi_inner_ret;
        t.regs.rsp = base;
        t.regs.rbp = base + 8;
        uint64_t pcs[16];
        char names[16][64];
        int n = unwind_with(u, mods, cap, sym, &t, pcs, names, 16);
        CHECK(n >= 3);
        CHECK(n >= 1 && pcs[0] == (uint64_t) (uintptr_t) epi_inner_ret && streq(names[0], "epi_inner"));
        CHECK(n >= 2 && pcs[1] == (uint64_t) (uintptr_t) epi_outer_after);
        CHECK(n >= 3 && pcs[2] == (uint64_t) (uintptr_t) epi_root_after && streq(names[2], "epi_root"));
        symbolizer_free(sym);
        modules_free(mods);
        process_capture_free(cap);
}

static void check_helpers(void)
{
        struct unwound_frame f[2] = { { .pc = 0x1000, .sp = 0x7000 }, { .pc = 0x2000, .sp = 0x7100 } };
        struct unwound_stack st = { .frames = f, .n = 2 };
        /* a recursion repeats the pc at a new stack pointer: not a runaway */
        CHECK(!unwound_is_runaway(&st, 0x2000, 0x7200, false));
        CHECK(unwound_is_runaway(&st, 0x2000, 0x7100, false));
        CHECK(!unwound_is_runaway(&st, 0x2000, 0x7100, true));

        uint8_t stack[24] = { 1, 0, 0, 0, 0, 0, 0, 0, 2 };
        struct thread_capture t = { .stack = stack, .stack_addr = 0x1000, .stack_len = sizeof stack };
        uint64_t w = 0;
        CHECK(unwind_read_stack(&t, 0x1000, &w) && w == 1);
        CHECK(unwind_read_stack(&t, 0x1008, &w) && w == 2);
        CHECK(unwind_read_stack(&t, 0x1010, &w));
        CHECK(!unwind_read_stack(&t, 0x1011, &w));      /* runs past the copy */
        CHECK(!unwind_read_stack(&t, 0xff8, &w));

        /* the outermost frame's stack pointer at the very end of the stack
         * mapping is on that stack, not another (a raw clone's thread);
         * one in another mapping is on another (a sigaltstack) */
        static const char maps[] = "10000-20000 rw-p 00000000 00:00 0 \n"
                                   "20000-30000 rw-p 00000000 00:00 0 \n";
        struct modules *mods = NULL;
        CHECK(modules_new(getpid(), maps, &mods) == 0);
        uint8_t window[64] = {0};
        struct thread_capture top = { .stack = window, .stack_addr = 0x1ff00, .stack_len = sizeof window };
        struct unwound_frame outer[2] = { { .pc = 0x1000, .sp = 0x1ff00 }, { .pc = 0x2000, .sp = 0x20000 } };
        struct unwound_stack whole = { .frames = outer, .n = 2 };
        CHECK(mods && !unwind_note_other_stack(mods, &top, &whole));
        outer[1].sp = 0x20100;
        CHECK(mods && unwind_note_other_stack(mods, &top, &whole));
        modules_free(mods);
}

int main(void)
{
        check_helpers();
        check_self_unwind();
        check_epilogue_unwind();
        return CHECK_DONE();
}
