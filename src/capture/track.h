/* Track: follow thread creation in a live process between --watch
 * snapshots, to tell where each new thread was created.
 *
 * Every thread is seized with PTRACE_O_TRACECLONE and left running; a thread
 * that calls clone stops at the clone event just long enough to copy its
 * registers and stack (the new thread's creator), the new thread stops once
 * at birth, signals go through us and are delivered unchanged, job-control
 * stops are kept with PTRACE_LISTEN.  Before each snapshot the process is let
 * go entirely (track_stop), so that the snapshot seizes it as -p does. */
#ifndef LEAKSCAN_TRACK_H
#define LEAKSCAN_TRACK_H

#include <stdint.h>
#include <sys/types.h>

#include "capture.h"

struct track;

/* Returns a new tracker for process pid, not yet attached.  NULL: -ENOMEM. */
struct track *track_new(pid_t pid, size_t creator_window);

/* Seizes every thread of the process (none is stopped).  Returns 0 or a
 * negative errno; on failure nothing stays seized. */
int track_start(struct track *tr);

/* Serves the process's ptrace events until until_us (CLOCK_MONOTONIC). */
void track_run(struct track *tr, uint64_t until_us);

/* Lets every thread go (each is stopped for a moment, then detached with any
 * signal it had pending).  A thread that cannot stop now (uninterruptible
 * sleep) stays our tracee until it can, or until we exit. */
void track_stop(struct track *tr);

/* The stack that created thread tid while we tracked, or NULL. */
const struct thread_capture *track_creator(const struct track *tr, pid_t tid);

/* Detaches what is still attached, and frees. */
void track_free(struct track *tr);

#endif
