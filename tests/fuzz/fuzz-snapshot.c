/* Snapshot files (snapshot_parse, leakscan-snapshot/1): written by a
 * privileged leakscan, read by --from-snapshot, possibly on another machine
 * from a file anyone could have edited. */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"
#include "snapshot.h"

static void check(const struct snapshot *s)
{
        const struct process_capture *cap = s->cap;
        FUZZ_ASSERT(cap->pid > 0 && cap->maps_text);
        FUZZ_ASSERT(s->n_facts == cap->n_threads);
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                FUZZ_ASSERT(t->tid > 0 && s->facts[i].tid == t->tid);
                FUZZ_ASSERT(t->lock_len <= sizeof t->lock);
                FUZZ_ASSERT(t->stat.comm[sizeof t->stat.comm - 1] == 0);
                FUZZ_ASSERT(process_capture_find((struct process_capture *) cap, t->tid) == t);
        }
        for (size_t i = 1; i < s->n_ranges; i++)
                FUZZ_ASSERT(s->ranges[i].addr >= s->ranges[i - 1].addr + s->ranges[i - 1].len);
        for (size_t i = 0; i < s->n_modules; i++)
                FUZZ_ASSERT(s->modules[i].path && s->modules[i].start < s->modules[i].end &&
                            s->modules[i].build_id_len <= sizeof s->modules[i].build_id);
        if (s->reach.scanned)
                FUZZ_ASSERT(s->reach.sp && s->reach.flags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *buf = malloc(size + 1);
        if (!buf)
                abort();
        memcpy(buf, data, size);
        struct snapshot *s = NULL;
        const char *why = NULL;
        int r = snapshot_parse(buf, size, &s, &why);
        if (r < 0) {
                FUZZ_ASSERT(why || r == -ENOMEM);
                return 0;
        }
        check(s);
        /* what was read, written again, reads back the same */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        FUZZ_ASSERT(f && snapshot_write(s, f) == 0 && fclose(f) == 0);
        struct snapshot *again = NULL;
        FUZZ_ASSERT(snapshot_parse((uint8_t *) text, len, &again, &why) == 0);
        check(again);
        FUZZ_ASSERT(again->cap->n_threads == s->cap->n_threads && again->n_modules == s->n_modules &&
                    again->range_bytes == s->range_bytes && again->cap->pid == s->cap->pid &&
                    again->reach.scanned == s->reach.scanned && again->reach.n == s->reach.n);
        snapshot_free(again);
        snapshot_free(s);
        return 0;
}
