/* Internal half of the embeddable API (the public half is
 * include/leakscan/leakscan.h): the snapshot step on its own, for the
 * benchmark and for later modes that stop a process their own way. */
#ifndef LEAKSCAN_INSPECT_H
#define LEAKSCAN_INSPECT_H

#include <stdbool.h>
#include <sys/types.h>

#include "capture.h"
#include "leakscan/leakscan.h"

/* Seizes every thread of pid, captures it and releases it.  traced: the
 * threads are already our tracees (--at-exit): they are interrupted and
 * continued, not seized and detached.  held_tids: threads the caller holds
 * stopped (it keeps ownership of the array, which must outlive the capture),
 * captured as they are and left held.  Returns 0 and a new
 * capture in *ret (free with process_capture_free), or a negative errno as
 * leakscan_inspect_pid does. */
int inspect_snapshot(pid_t pid, const struct leakscan_options *opts, bool traced,
                     const pid_t *held_tids, size_t n_held, struct process_capture **ret);

/* Where the stack that created a thread was copied (--at-exit): find returns
 * the creator's copy for thread tid, or NULL. */
struct creator_lookup {
        const struct thread_capture *(*find)(void *userdata, pid_t tid);
        void *userdata;
};

/* Unwinds, symbolizes and classifies every thread of cap into p (p->threads
 * allocated here), with the creator stacks creators knows (may be NULL).
 * Applies the pid-mode leak rule.  Returns 0 or a negative errno. */
int inspect_analyse(struct process_capture *cap, const struct leakscan_options *opts,
                    const struct creator_lookup *creators, struct leakscan_process *p);

/* Reads exe and cmdline of process p->pid into p. */
void inspect_read_identity(struct leakscan_process *p);

#endif
