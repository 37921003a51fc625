/* Baseline and watch: judging a process against an earlier look at it.
 *
 * A baseline (goleak's IgnoreCurrent) lists the threads present at one
 * moment by TID and start time, so that a TID the kernel reuses for a new
 * thread is not mistaken for the old one.  A watch takes snapshots over time
 * and reports the groups of identical stacks whose thread count grew: how a
 * server that leaks slowly is found in production. */
#ifndef LEAKSCAN_BASELINE_H
#define LEAKSCAN_BASELINE_H

#include <stdint.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

/* A stable signature of a thread's stack and state: a hash of its state and
 * its frames' functions (or module+offset where there is no symbol). */
uint64_t baseline_signature(const struct leakscan_thread *t);

/* Writes the threads of p as a baseline: a header, then "TID START SIGNATURE"
 * a line.  Returns 0 or -EIO. */
int baseline_write(FILE *f, const struct leakscan_process *p);

struct baseline_entry {
        pid_t tid;
        uint64_t start_time;
};

struct baseline {
        struct baseline_entry *entries;
        size_t n;
        char *path;
        size_t cap;
};

/* Reads a baseline file.  Returns 0, or a negative errno with *ret_error a
 * new message naming the file (and line). */
int baseline_read(const char *path, struct baseline *ret, char **ret_error);

/* The same on text in memory (len bytes; a NUL byte before the end is an
 * error naming its line); name is used in messages. */
int baseline_parse(const char *name, const char *text, size_t len, struct baseline *ret, char **ret_error);
void baseline_done(struct baseline *b);

/* Whether the baseline lists the thread tid that started at start_time. */
bool baseline_contains(const struct baseline *b, pid_t tid, uint64_t start_time);

/* One group of identical stacks followed across a watch. */
struct watch_group {
        uint64_t signature;
        size_t *counts;                 /* per snapshot */
        struct leakscan_thread *example;        /* in the last snapshot (its newest
                                                 * thread, created-by known if we
                                                 * saw it made), or NULL */
        size_t new_in_last;     /* its threads in the last snapshot that were not
                                 * alive in the first */
        size_t ended;           /* its threads that ended before a later
                                 * snapshot: a pool that shrinks by itself */
};

struct watch {
        struct leakscan_report **snapshots;
        size_t n_snapshots;
        struct watch_group *groups;
        size_t n_groups;
};

/* Adds a snapshot (the watch takes ownership of it).  Returns 0 or -ENOMEM. */
int watch_add(struct watch *w, struct leakscan_report *snapshot);
void watch_done(struct watch *w);

/* How much group g grew from the first snapshot to the last: by threads
 * that did not exist at first, not by old threads that moved into it from
 * another state (a thread caught in another call in one snapshot).  0 when
 * it did not grow, and 0 for a group some of whose threads were seen to
 * end: leaked threads never end, an elastic pool's (workers that retire
 * after an idle timeout) do, and its growth under a burst is no leak. */
static inline int64_t watch_growth(const struct watch *w, const struct watch_group *g)
{
        int64_t d = (int64_t) g->counts[w->n_snapshots - 1] - (int64_t) g->counts[0];
        return d > 0 && g->new_in_last > 0 && g->ended == 0 ? d : 0;
}

/* Whether group g grew but is not reported, its threads having been seen
 * to end (see watch_growth). */
static inline bool watch_elastic(const struct watch *w, const struct watch_group *g)
{
        return g->ended > 0 && g->new_in_last > 0 && g->counts[w->n_snapshots - 1] > g->counts[0];
}

/* Writes the groups that grew (text or JSON).  Returns 0 or -EIO. */
int watch_write_text(FILE *f, const struct watch *w, int64_t interval_ms);
int watch_write_json(FILE *f, const struct watch *w, int64_t interval_ms);

#endif
