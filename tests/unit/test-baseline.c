/* Unit tests of --watch's growth rule and of baselines, on synthetic
 * snapshots: a thread that moves from one state to another is no growth,
 * new threads in a group are; a baseline matches TID and start time. */
#include <stdlib.h>

#include "baseline.h"
#include "check.h"

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
        /* ...but a reused TID (same number, later start) is a new thread */
        static const int c[][3] = { { 100, 1, MUTEX }, { 101, 7, COND } };
        CHECK_EQ_INT(watch_add(&w, snapshot(2, c)), 0);
        CHECK_EQ_INT(watch_growth(&w, group_of(&w, COND)), 1);
        watch_done(&w);

        /* a baseline ignores what it lists, by TID and start time */
        struct baseline_entry entries[] = { { 101, 1 }, { 102, 4 } };
        struct baseline bl = { .entries = entries, .n = 2, .path = "b" };
        CHECK(baseline_contains(&bl, 101, 1));
        CHECK(!baseline_contains(&bl, 102, 5));         /* 102 started at 5, not 4 */
        CHECK(!baseline_contains(&bl, 103, 1));
        return CHECK_DONE();
}
