/* Internal half of the embeddable API (the public half is
 * include/leakscan/leakscan.h): the snapshot step on its own, for the
 * benchmark and for later modes that stop a process their own way. */
#ifndef LEAKSCAN_INSPECT_H
#define LEAKSCAN_INSPECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "leakscan/leakscan.h"

/* Seizes every thread of pid, captures it and releases it.  held_tids:
 * threads the caller holds blocked in a syscall (--at-exit: exit_group),
 * read from /proc without being seized (the caller keeps the array, which
 * must outlive the capture).  Returns 0 and a new capture in *ret (free with
 * process_capture_free), or a negative errno as leakscan_inspect_pid does. */
int inspect_snapshot(pid_t pid, const struct leakscan_options *opts,
                     const pid_t *held_tids, size_t n_held, struct process_capture **ret);

/* inspect_snapshot, where the caller also traces some threads and holds them
 * in a ptrace stop (preseized_tids; --at-exit's quarantine): they are read
 * as stopped threads and stay stopped, never detached. */
int inspect_snapshot_preseized(pid_t pid, const struct leakscan_options *opts, const pid_t *held_tids,
                               size_t n_held, const pid_t *preseized_tids, size_t n_preseized,
                               struct process_capture **ret);

/* Where the stacks that created threads were copied (--at-exit, --watch):
 * find returns the copy for thread t of process pid, or NULL.  Found by the
 * thread's TID, or by its thread pointer (glibc's struct pthread: what clone
 * was given) when the TID was not known at creation. */
struct python_stack;

struct creator_lookup {
        const struct thread_capture *(*find)(void *userdata, pid_t pid, const struct thread_capture *t);
        void *userdata;
        /* The Python frames read with the creator copy that find returned,
         * or NULL (may be NULL: none kept). */
        const struct python_stack *(*python)(void *userdata, const struct thread_capture *creator);
};

/* Unwinds, symbolizes and classifies every thread of cap into p (p->threads
 * allocated here), with the creator stacks creators knows (may be NULL).
 * Applies the pid-mode leak rule.  Returns 0 or a negative errno. */
int inspect_analyse(struct process_capture *cap, const struct leakscan_options *opts,
                    const struct creator_lookup *creators, struct leakscan_process *p);

/* After inspect_analyse, in pid mode: whether the objects that blocked
 * threads wait on can still be reached (reach_process), with the
 * registers captured during the stop as roots.  Returns 0 or -ENOMEM. */
int inspect_reach(const struct process_capture *cap, uint64_t scan_limit, struct leakscan_process *p);

/* leakscan_inspect_pid, with the creator stacks that creators knows. */
int inspect_pid(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                struct leakscan_report **ret_report);

/* inspect_pid, reading at most scan_limit bytes of the process (0: no
 * limit) to tell whether the objects its blocked threads wait on can still
 * be reached (src/analysis/reach.h; struct leakscan_options is frozen by the ABI). */
int inspect_pid_limited(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                        uint64_t scan_limit, struct leakscan_report **ret_report);

/* Reads exe and cmdline of process p->pid into p. */
void inspect_read_identity(struct leakscan_process *p);

/* The first half of every pid-mode run (inspect_pid_limited, the
 * capturer, --save-snapshot): takes the snapshot of process pid
 * (inspect_snapshot; blocked times remembered across runs), and starts a
 * "pid" report of one process with what the capture knows of it and its
 * identity.  Returns 0 with both in *ret_cap and *ret_report (the caller's
 * to free), or a negative errno. */
int inspect_capture_pid(pid_t pid, const struct leakscan_options *opts, struct process_capture **ret_cap,
                        struct leakscan_report **ret_report);

/* Whether thread tid of process pid may still end its wait by itself, read
 * from /proc without stopping it: 1 when it runs or waits with a timeout, 0
 * when it is blocked indefinitely (or asleep where /proc cannot tell more),
 * -ESRCH when it is gone or a zombie.  *ret_stat (may be NULL) gets its
 * stat line.  For the grace periods of --at-exit and of the in-process
 * check. */
int inspect_thread_may_finish(pid_t pid, pid_t tid, struct proc_stat *ret_stat);

#endif
