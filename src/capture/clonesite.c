/* Clone sites; see clonesite.h.  A small table scanned linearly: a process
 * creates its threads from one or two syscall instructions (glibc: one,
 * in clone3), so there are about as many sites as processes, and the table
 * is bounded for programs that fork without end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clonesite.h"
#include "util.h"

#define CLONE_SITES_MAX 256

struct clone_site *clone_sites_get(struct clone_sites *s, pid_t tgid, uint64_t ip)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->sites[i].tgid == tgid && s->sites[i].ip == ip)
                        return &s->sites[i];
        struct clone_site *site;
        if (s->n == CLONE_SITES_MAX) {
                site = &s->sites[s->next_evict];
                s->next_evict = (s->next_evict + 1) % CLONE_SITES_MAX;
        } else {
                if (grow_array(&s->sites, &s->cap, s->n + 1, sizeof *s->sites) < 0)
                        return NULL;
                site = &s->sites[s->n++];
        }
        *site = (struct clone_site) { .tgid = tgid, .ip = ip };
        return site;
}

void clone_sites_forget(struct clone_sites *s, pid_t tgid)
{
        size_t kept = 0;
        for (size_t i = 0; i < s->n; i++)
                if (s->sites[i].tgid != tgid)
                        s->sites[kept++] = s->sites[i];
        if (kept != s->n) {
                s->n = kept;
                s->next_evict = 0;
        }
}

void clone_sites_free(struct clone_sites *s)
{
        free(s->sites);
        *s = (struct clone_sites) {0};
}

static uint64_t word_at(const uint8_t *stack, size_t i)
{
        uint64_t w;
        memcpy(&w, stack + i * sizeof w, sizeof w);
        return w;
}

static int count_bits(uint64_t v)
{
        int n = 0;
        for (; v; v &= v - 1)
                n++;
        return n;
}

bool clone_site_derive_sp(const struct clone_site *site, uint64_t arg, uint64_t *ret_sp)
{
        /* two stable words at least (return addresses, saved constants):
         * one alone could match by chance */
        if (site->conflicts >= CLONE_SITE_MAX_CONFLICTS || site->samples < CLONE_SITE_MIN_SAMPLES ||
            count_bits(site->stable) < 2 || arg < site->delta)
                return false;
        *ret_sp = arg - site->delta;
        return true;
}

bool clone_site_verify(const struct clone_site *site, const uint8_t *stack, size_t len, size_t argsize)
{
        if (len < site->delta || len - site->delta < argsize)
                return false;
        for (size_t i = 0; i < site->n_words; i++)
                if ((site->stable >> i & 1) && word_at(stack, i) != site->words[i])
                        return false;
        return true;
}

void clone_site_learn(struct clone_site *site, uint64_t arg, uint64_t sp, const uint8_t *stack, size_t len)
{
        uint64_t delta = arg - sp;
        /* the argument must lie in the copied frames above the stack
         * pointer; on the heap, or in another stack, nothing is learned */
        if (arg < sp || delta > CLONE_SITE_MAX_DELTA || delta % sizeof(uint64_t) || delta > len) {
                site->conflicts++;
                site->samples = 0;
                return;
        }
        if (site->samples > 0 && delta == site->delta) {
                /* words that change between creations tell nothing */
                for (size_t i = 0; i < site->n_words; i++)
                        if (word_at(stack, i) != site->words[i])
                                site->stable &= ~(UINT64_C(1) << i);
                site->samples++;
                return;
        }
        if (site->samples > 0)
                site->conflicts++;      /* another call path, another frame */
        site->delta = delta;
        site->n_words = delta / sizeof(uint64_t);
        if (site->n_words > CLONE_SITE_WORDS)
                site->n_words = CLONE_SITE_WORDS;
        /* a zero proves nothing: any stack is full of them */
        site->stable = 0;
        for (size_t i = 0; i < site->n_words; i++) {
                site->words[i] = word_at(stack, i);
                if (site->words[i])
                        site->stable |= UINT64_C(1) << i;
        }
        site->samples = 1;
}
