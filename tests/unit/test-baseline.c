/* Unit tests of --watch's growth rule and of baselines, on synthetic
 * snapshots: a thread that moves from one state to another is no growth,
 * new threads in a group are, unless caught in their clone trampoline; a
 * baseline matches TID and start time. */
#include <errno.h>
#include <stdlib.h>

#include "baseline.h"
#include "check.h"

void *__real_realloc(void *p, size_t n);
static unsigned long realloc_calls;
void *__wrap_realloc(void *p, size_t n)         /* linked with -Wl,--wrap=realloc */
{
        realloc_calls++;
        return __real_realloc(p, n);
}

/* Parsing baseline files: NUL bytes, excerpts, linear time on 40,000 lines. */
static void test_parse(void)
{
        struct baseline b = {0};
        char *err = NULL;
        static const char ok[] = "# leakscan baseline 1\n# TID ...\n12 345 00ab name\n13\t346\n\n";
        CHECK_EQ_INT(baseline_parse("b", ok, sizeof ok - 1, &b, &err), 0);
        CHECK_EQ_INT(b.n, 2);
        CHECK(b.n == 2 && b.entries[1].tid == 13 && b.entries[1].start_time == 346);
        baseline_done(&b);

        /* issue 12: a NUL byte is an error naming the line, not an end */
        static const char nul[] = "12 345\n13 3\0 x\n14 1\n";
        CHECK_EQ_INT(baseline_parse("b", nul, sizeof nul - 1, &b, &err), -EINVAL);
        CHECK(err && strstr(err, "b:2:") && strstr(err, "NUL"));
        free(err);
        err = NULL;

        static const char *const bads[] = { "-1 5", "0 5", "12", "12 x", " 12 5", "99999999999 1", "12 5x",
                                            "12 99999999999999999999999" };
        for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
                CHECK_EQ_INT(baseline_parse("b", bads[i], strlen(bads[i]), &b, &err), -EINVAL);
                CHECK(err && strstr(err, "b:1:"));
                free(err);
                err = NULL;
        }

        /* the excerpt is short and escaped */
        char bad[400] = "\x1b]0;title\x07";
        memset(bad + strlen(bad), 'a', 300);
        CHECK_EQ_INT(baseline_parse("b", bad, strlen(bad), &b, &err), -EINVAL);
        CHECK(err && strlen(err) < 160 && !strchr(err, '\x1b') && !strchr(err, '\x07') && strstr(err, "\\x1b]0;title"));
        free(err);

        enum { N = 40000 };
        char *text = malloc((size_t) N * 40), *p = text;
        for (int i = 0; i < N; i++)
                p += sprintf(p, "%d %d 0123456789abcdef name\n", i + 1, i * 7);
        realloc_calls = 0;
        err = NULL;
        CHECK_EQ_INT(baseline_parse("b", text, (size_t) (p - text), &b, &err), 0);
        CHECK_EQ_INT(b.n, N);
        CHECK(realloc_calls < 64);      /* was one per line */
        baseline_done(&b);
        free(text);
}

/* A one-process report of n threads: (tid, start time, state) triples. */
static struct leakscan_report *snapshot(size_t n, const int (*spec)[3])
{
        struct leakscan_report *r = calloc(1, sizeof *r);
        r->processes = calloc(1, sizeof *r->processes);
        r->n_processes = 1;
        r->processes[0].pid = 100;
        r->processes[0].threads = calloc(n, sizeof *r->processes[0].threads);
        r->processes[0].n_threads = n;
        for (size_t i = 0; i < n; i++) {
                struct leakscan_thread *t = &r->processes[0].threads[i];
                t->tid = spec[i][0];
                t->start_time = (uint64_t) spec[i][1];
                t->state = (enum leakscan_state) spec[i][2];
                t->wait_fd = -1;
                t->leaked = true;
        }
        return r;
}

static const struct watch_group *group_of(const struct watch *w, enum leakscan_state state)
{
        struct leakscan_thread t = { .state = state };
        uint64_t sig = baseline_signature(&t);
        for (size_t g = 0; g < w->n_groups; g++)
                if (w->groups[g].signature == sig)
                        return &w->groups[g];
        return NULL;
}

int main(void)
{
#define SLEEP LEAKSCAN_STATE_SLEEP
#define COND LEAKSCAN_STATE_CONDVAR
#define MUTEX LEAKSCAN_STATE_MUTEX
        /* thread 101 moves from sleep to condvar; 103 and 104 are new in condvar */
        static const int first[][3] = { { 100, 1, MUTEX }, { 101, 1, SLEEP }, { 102, 5, COND } };
        static const int mid[][3] = { { 100, 1, MUTEX }, { 101, 1, SLEEP }, { 102, 5, COND }, { 103, 9, COND } };
        static const int last[][3] = { { 100, 1, MUTEX }, { 101, 1, COND }, { 102, 5, COND }, { 103, 9, COND },
                                       { 104, 9, COND } };
        struct watch w = {0};
        CHECK_EQ_INT(watch_add(&w, snapshot(3, first)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(4, mid)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(5, last)), 0);
        const struct watch_group *cond = group_of(&w, COND), *sleep = group_of(&w, SLEEP),
                                 *mutex = group_of(&w, MUTEX);
        CHECK(cond && sleep && mutex);
        CHECK_EQ_INT(cond->counts[0], 1);
        CHECK_EQ_INT(cond->counts[1], 2);
        CHECK_EQ_INT(cond->counts[2], 4);
        CHECK_EQ_INT(cond->new_in_last, 2);
        CHECK_EQ_INT(watch_growth(&w, cond), 3);
        CHECK_EQ_INT(watch_growth(&w, sleep), 0);       /* shrank */
        CHECK_EQ_INT(watch_growth(&w, mutex), 0);
        watch_done(&w);

        /* one old thread caught in another state is no growth at all */
        static const int a[][3] = { { 100, 1, MUTEX }, { 101, 1, SLEEP } };
        static const int b[][3] = { { 100, 1, MUTEX }, { 101, 1, COND } };
        w = (struct watch) {0};
        CHECK_EQ_INT(watch_add(&w, snapshot(2, a)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(2, b)), 0);
        CHECK_EQ_INT(watch_growth(&w, group_of(&w, COND)), 0);
        watch_done(&w);

        /* ...but a reused TID (same number, later start) is a new thread */
        static const int c[][3] = { { 100, 1, MUTEX }, { 101, 7, COND } };
        w = (struct watch) {0};
        CHECK_EQ_INT(watch_add(&w, snapshot(2, a)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(2, c)), 0);
        CHECK_EQ_INT(watch_growth(&w, group_of(&w, COND)), 1);
        CHECK_EQ_INT(group_of(&w, SLEEP)->ended, 1);    /* 101 of start 1 ended */
        watch_done(&w);

        /* an elastic pool: workers that retire after an idle timeout and
         * come back under a burst.  Counts 3 2 4: its threads are seen to
         * end, so it grew, but no leak (leaked threads never end) */
        static const int p1[][3] = { { 100, 1, MUTEX }, { 110, 2, COND }, { 111, 2, COND }, { 112, 2, COND } };
        static const int p2[][3] = { { 100, 1, MUTEX }, { 110, 2, COND }, { 111, 2, COND } };
        static const int p3[][3] = { { 100, 1, MUTEX }, { 110, 2, COND }, { 111, 2, COND }, { 113, 8, COND },
                                     { 114, 8, COND } };
        w = (struct watch) {0};
        CHECK_EQ_INT(watch_add(&w, snapshot(4, p1)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(3, p2)), 0);
        CHECK_EQ_INT(watch_add(&w, snapshot(5, p3)), 0);
        const struct watch_group *pool = group_of(&w, COND);
        CHECK(pool && pool->ended == 1 && pool->new_in_last == 2);
        CHECK_EQ_INT(watch_growth(&w, pool), 0);
        CHECK(watch_elastic(&w, pool));
        CHECK(!watch_elastic(&w, group_of(&w, MUTEX)));
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        CHECK_EQ_INT(watch_write_text(f, &w, 1000), 0);
        fclose(f);
        CHECK(strstr(text, "no group of threads grew (1 more grew but also lost threads that ended"));
        free(text);
        f = open_memstream(&text, &len);
        CHECK_EQ_INT(watch_write_json(f, &w, 1000), 0);
        fclose(f);
        CHECK(strstr(text, "\"groups_grown\": 0, \"groups_elastic\": 1"));
        free(text);
        watch_done(&w);

        /* a thread caught in its clone trampoline (start routine not yet
         * called) is in a group of its own for one snapshot: no growth;
         * one that runs its routine is */
        static const int b1[][3] = { { 100, 1, MUTEX } };
        static const int b2[][3] = { { 100, 1, MUTEX }, { 120, 9, LEAKSCAN_STATE_RUNNING },
                                     { 121, 9, LEAKSCAN_STATE_RUNNING } };
        w = (struct watch) {0};
        CHECK_EQ_INT(watch_add(&w, snapshot(1, b1)), 0);
        struct leakscan_report *born = snapshot(3, b2);
        static const char *const stacks[2][3] = { { "start_thread", "__clone3", NULL },
                                                  { "session", "start_thread", "runtime.clone.abi0" } };
        for (size_t i = 0; i < 2; i++) {
                struct leakscan_thread *t = &born->processes[0].threads[1 + i];
                t->frames = calloc(3, sizeof *t->frames);
                for (size_t k = 0; k < 3 && stacks[i][k]; k++)
                        t->frames[t->n_frames++].function = strdup(stacks[i][k]);
        }
        CHECK_EQ_INT(watch_add(&w, born), 0);
        size_t grew = 0;
        for (size_t g = 0; g < w.n_groups; g++)
                if (watch_growth(&w, &w.groups[g]) > 0) {
                        grew++;
                        CHECK(w.groups[g].example && w.groups[g].example->tid == 121);
                }
        CHECK_EQ_INT(grew, 1);
        watch_done(&w);

        /* a baseline ignores what it lists, by TID and start time */
        struct baseline_entry entries[] = { { 101, 1 }, { 102, 4 } };
        struct baseline bl = { .entries = entries, .n = 2, .path = "b" };
        CHECK(baseline_contains(&bl, 101, 1));
        CHECK(!baseline_contains(&bl, 102, 5));         /* 102 started at 5, not 4 */
        CHECK(!baseline_contains(&bl, 103, 1));
        test_parse();
        return CHECK_DONE();
}
