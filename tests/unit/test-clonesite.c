/* Unit tests of clone sites (src/capture/clonesite.h) on made-up stacks: the stack
 * pointer is derived only after two reads agreed, only where the copy shows
 * the words that never changed, the words that change between callers are
 * dropped, and a site whose reads disagree on the distance (other frames,
 * an argument on the heap) falls back to /proc for good. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "clonesite.h"

#define STACK_BASE UINT64_C(0x7ffc00001000)
#define RET_WRAPPER UINT64_C(0x7f0000109abc)   /* return into the libc wrapper */
#define RET_CALLER UINT64_C(0x7f00000a1234)    /* return into pthread_create */

/* A stack copy from sp = STACK_BASE + at: the frames of one call path up to
 * clone_args at distance delta, with `varying` in the caller's saved
 * register, then the clone_args (flags first). */
static void make_stack(uint64_t *w, size_t n_words, uint64_t delta, uint64_t varying)
{
        memset(w, 0, n_words * sizeof *w);
        w[0] = RET_WRAPPER;
        w[1] = varying;                 /* a register the caller saved */
        w[2] = 0;                       /* zero: proves nothing */
        w[3] = UINT64_C(0x10);          /* a constant the wrapper saved */
        if (delta / 8 > 4)
                w[delta / 8 - 1] = RET_CALLER;
        w[delta / 8] = UINT64_C(0x3d0f00);     /* clone_args.flags */
}

static void test_derive_after_two_reads(void)
{
        struct clone_sites sites = {0};
        struct clone_site *s = clone_sites_get(&sites, 100, 0x7f00001098d9);
        CHECK(s != NULL);
        CHECK(clone_sites_get(&sites, 100, 0x7f00001098d9) == s);
        CHECK(clone_sites_get(&sites, 101, 0x7f00001098d9) != s);
        s = clone_sites_get(&sites, 100, 0x7f00001098d9);

        uint64_t stack[64], sp;
        uint64_t delta = 72, arg = STACK_BASE + delta;
        CHECK(!clone_site_derive_sp(s, arg, &sp));     /* nothing learned */

        make_stack(stack, 64, delta, 0xaaaa);
        clone_site_learn(s, arg, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(!clone_site_derive_sp(s, arg, &sp));     /* one read is not enough */
        CHECK_EQ_INT(s->samples, 1);

        make_stack(stack, 64, delta, 0xbbbb);          /* another caller's register */
        clone_site_learn(s, arg, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK_EQ_INT(s->samples, 2);
        CHECK(!(s->stable & 2));        /* the saved register changed */
        CHECK(!(s->stable & 4));        /* zero */
        CHECK(s->stable & 1 && s->stable & 8 && s->stable & (UINT64_C(1) << 8));

        /* the stack moved (another frame depth): the same distance */
        uint64_t arg2 = STACK_BASE - 0x500 + delta;
        CHECK(clone_site_derive_sp(s, arg2, &sp));
        CHECK_EQ_INT(sp, STACK_BASE - 0x500);
        make_stack(stack, 64, delta, 0xcccc);
        CHECK(clone_site_verify(s, (const uint8_t *) stack, sizeof stack, 64));
        /* too short to hold clone_args */
        CHECK(!clone_site_verify(s, (const uint8_t *) stack, delta + 32, 64));

        /* a copy from the wrong place: the return addresses are elsewhere */
        uint64_t shifted[64];
        make_stack(shifted, 64, delta + 16, 0xcccc);
        CHECK(!clone_site_verify(s, (const uint8_t *) shifted + 16, sizeof shifted - 16, 64));
        clone_sites_free(&sites);
        CHECK(sites.sites == NULL && sites.n == 0);
}

static void test_narrowing(void)
{
        struct clone_sites sites = {0};
        struct clone_site *s = clone_sites_get(&sites, 7, 0x1000);
        uint64_t stack[64], sp, delta = 72, arg = STACK_BASE + delta;
        make_stack(stack, 64, delta, 0xaaaa);
        stack[4] = 0x5555;              /* the same in the first two reads only */
        clone_site_learn(s, arg, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        clone_site_learn(s, arg, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(clone_site_derive_sp(s, arg, &sp));
        stack[4] = 0x6666;
        CHECK(!clone_site_verify(s, (const uint8_t *) stack, sizeof stack, 64));
        /* the caller reads /proc instead, and the site learns the word varies */
        clone_site_learn(s, arg, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(clone_site_verify(s, (const uint8_t *) stack, sizeof stack, 64));
        CHECK_EQ_INT(s->conflicts, 0);
        clone_sites_free(&sites);
}

static void test_fallback_for_good(void)
{
        struct clone_sites sites = {0};
        struct clone_site *s = clone_sites_get(&sites, 7, 0x2000);
        uint64_t stack[64], sp;
        /* two callers of one wrapper: clone_args 24 and 152 bytes up */
        make_stack(stack, 64, 24, 1);
        clone_site_learn(s, STACK_BASE + 24, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        clone_site_learn(s, STACK_BASE + 24, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(clone_site_derive_sp(s, STACK_BASE + 24, &sp));
        make_stack(stack, 64, 152, 1);
        stack[0] = RET_CALLER;          /* returns elsewhere */
        clone_site_learn(s, STACK_BASE + 152, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK_EQ_INT(s->conflicts, 1);
        CHECK(!clone_site_derive_sp(s, STACK_BASE + 152, &sp));        /* relearning */
        /* clone_args on the heap, below the stack: nothing to learn */
        clone_site_learn(s, UINT64_C(0x55550000a9b0), STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK_EQ_INT(s->conflicts, 2);
        make_stack(stack, 64, 24, 1);
        clone_site_learn(s, STACK_BASE + 24, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        clone_site_learn(s, STACK_BASE + 24, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(!clone_site_derive_sp(s, STACK_BASE + 24, &sp)); /* never again */

        /* a distance beyond any frame, or past the copy */
        s = clone_sites_get(&sites, 8, 0x2000);
        clone_site_learn(s, STACK_BASE + 8192, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK_EQ_INT(s->conflicts, 1);
        clone_site_learn(s, STACK_BASE + 1024, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK_EQ_INT(s->conflicts, 2);

        /* only zeros and one word: not enough to check a copy by */
        s = clone_sites_get(&sites, 9, 0x2000);
        memset(stack, 0, sizeof stack);
        stack[0] = RET_WRAPPER;
        clone_site_learn(s, STACK_BASE + 32, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        clone_site_learn(s, STACK_BASE + 32, STACK_BASE, (const uint8_t *) stack, sizeof stack);
        CHECK(!clone_site_derive_sp(s, STACK_BASE + 32, &sp));
        clone_sites_free(&sites);
}

static void test_bounded(void)
{
        struct clone_sites sites = {0};
        for (int i = 0; i < 1000; i++)
                CHECK(clone_sites_get(&sites, 1000 + i, 0x3000) != NULL);
        CHECK(sites.n <= 256);
        clone_sites_free(&sites);
}

/* An ended process's sites are forgotten: a later process given its pid
 * starts from nothing, and the other processes keep theirs. */
static void test_forget(void)
{
        struct clone_sites sites = {0};
        struct clone_site *s = clone_sites_get(&sites, 7, 0x4000);
        CHECK(s != NULL);
        s->samples = 2;
        CHECK(clone_sites_get(&sites, 8, 0x4000) != NULL);
        CHECK(clone_sites_get(&sites, 7, 0x5000) != NULL);
        clone_sites_get(&sites, 8, 0x4000)->samples = 3;
        clone_sites_forget(&sites, 7);
        CHECK_EQ_INT(sites.n, 1);
        CHECK_EQ_INT(clone_sites_get(&sites, 8, 0x4000)->samples, 3);
        CHECK_EQ_INT(clone_sites_get(&sites, 7, 0x4000)->samples, 0);
        clone_sites_free(&sites);
}

int main(void)
{
        test_derive_after_two_reads();
        test_narrowing();
        test_fallback_for_good();
        test_bounded();
        test_forget();
        return CHECK_DONE();
}
