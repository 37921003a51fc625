/* The symbolizer when memory runs out: every reallocation in libleakscan
 * fails in turn (-Wl,--wrap=realloc) while symbolizing a PC of this program
 * in a C function and in an assembly one without a DWARF subprogram
 * (asm-wait.S: a lexical block and no subprogram).  Each call returns 0 or -ENOMEM; none frees anything twice
 * (the scopes array was, in the assembly case). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "symbolize.h"
#include "util.h"

void *__real_realloc(void *p, size_t n);
static long fail_in = -1;       /* the countdown to the failing call; -1: none */
void *__wrap_realloc(void *p, size_t n)
{
        if (fail_in >= 0 && fail_in-- == 0)
                return NULL;
        return __real_realloc(p, n);
}

void asm_block(void);

static __attribute__((noinline)) int c_function(int x)
{
        return x * 3 + 1;
}

/* Symbolizes pc with a reallocation failing after `after` others; returns
 * symbolize_pc's result. */
static int symbolize_failing(uint64_t pc, long after, bool *ret_named)
{
        _cleanup_free_ char *maps = NULL;
        struct modules *mods = NULL;
        CHECK(read_full_file("/proc/self/maps", &maps) >= 0);
        CHECK(modules_new(getpid(), maps, &mods) == 0);
        struct symbolizer *s = mods ? symbolizer_new(mods, false) : NULL;
        CHECK(s != NULL);
        struct leakscan_frame *frames = NULL;
        size_t n = 0;
        fail_in = after;
        int r = s ? symbolize_pc(s, pc, true, &frames, &n) : -ENOMEM;
        fail_in = -1;
        *ret_named = r == 0 && n > 0 && frames[0].function;
        if (r == 0)
                frames_free(frames, n);
        symbolizer_free(s);
        modules_free(mods);
        return r;
}

int main(void)
{
        /* every call looks its place up anew, so that each failure point
         * is reached again */
        symbolize_places_enable(false);
        static const struct { const char *name; uint64_t pc; } cases[] = {
                { "asm_block", 0 }, { "c_function", 0 },
        };
        uint64_t pcs[] = { (uint64_t) (uintptr_t) asm_block + 1, (uint64_t) (uintptr_t) c_function };
        (void) c_function(1);
        for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
                bool named = false;
                /* without failures: a named frame */
                CHECK_EQ_INT(symbolize_failing(pcs[c], -1, &named), 0);
                CHECK(named);
                bool failed = false;
                for (long after = 0; after < 20; after++) {
                        int r = symbolize_failing(pcs[c], after, &named);
                        CHECK(r == 0 || r == -ENOMEM);
                        failed |= r == -ENOMEM;
                }
                if (!failed)
                        fprintf(stderr, "%s: no failure was injected\n", cases[c].name);
                CHECK(failed);
        }
        return CHECK_DONE();
}
