/* Analyse: from the classified threads and the lock words copied while they
 * were stopped, name what each blocked thread waits on and who could release
 * it, build the wait-for graph, and give the definite verdicts: deadlock (on
 * a cycle, or waiting for a thread on one) and orphaned (waiting for what
 * nothing alive can release).
 *
 * Owners come from glibc's objects as x86_64 glibc 2.3x lays them out
 * (docs/wait-for.md): a mutex's __owner, or the TID in the lock word of a
 * robust or PI mutex; an rwlock's __cur_writer; a join's futex word (the
 * joined thread's TID up to glibc 2.42) or its place in the joined thread's
 * struct pthread (any glibc). */
#ifndef LEAKSCAN_ANALYSE_H
#define LEAKSCAN_ANALYSE_H

#include "capture.h"
#include "leakscan/leakscan.h"
#include "modules.h"

/* Fills the wait fields (object, owner_tid, joined_tid, count, peer) and
 * the read marks (analyse_read_mark) of the threads of p from cap, then the
 * verdicts (analyse_graph).  Returns 0 or
 * -ENOMEM. */
int analyse_process(const struct process_capture *cap, struct modules *mods, struct leakscan_process *p);

/* Who holds the other end of each pipe p's threads wait on (t->peer,
 * t->peer_pid), from /proc: the capturer's part of analyse_process.
 * Returns 0 or -ENOMEM. */
int analyse_pipes(struct leakscan_process *p);

/* The threads of a process sorted by TID and by thread pointer, for
 * lookups in log time.  The threads array must outlive the index. */
struct thread_index {
        const struct leakscan_thread *threads;
        size_t n;
        size_t *by_tid;         /* indexes into threads, by TID */
        size_t *by_tls;         /* indexes of the threads with a thread pointer, by it */
        size_t n_tls;
};

/* Returns 0 or -ENOMEM; on failure *ix needs no thread_index_done. */
int thread_index_init(struct thread_index *ix, const struct leakscan_thread *threads, size_t n);
void thread_index_done(struct thread_index *ix);

/* The index in ix->threads of thread tid, or -1. */
long thread_index_by_tid(const struct thread_index *ix, pid_t tid);

/* Reads the owner, joined thread and counts of thread t's wait from the
 * bytes copied around its futex word (t->lock).  Pure: unit-tested on
 * synthetic windows.  ix: the whole process, to find the thread joined, by
 * its TID or by the join word inside its struct pthread. */
void analyse_lock_state(const struct thread_capture *t, struct leakscan_thread *lt, const struct thread_index *ix);

/* How t was read (lt->read: stop-free, stopped, held at exit, /proc
 * only), how long it was stopped, and, when leakscan stopped it inside a
 * call whose outcome a stop changes, what it changes (lt->stop_effect,
 * from the syscall table's stop effects).  Pure. */
void analyse_read_mark(const struct thread_capture *t, struct leakscan_thread *lt);

/* The wait-for graph of p's threads (their owner_tid and joined_tid edges):
 * marks deadlocked and orphaned threads and records each cycle once in
 * p->deadlocks.  Whether they are leaks is the judge's to say.  Returns 0 or
 * -ENOMEM. */
int analyse_graph(struct leakscan_process *p);

#endif
