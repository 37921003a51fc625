/* Track: follow thread creation in a live process between --watch
 * snapshots, to tell where each new thread was created.
 *
 * Every thread is seized with PTRACE_O_TRACECLONE and left running; a thread
 * that calls clone stops at the clone event just long enough to copy its
 * registers and stack (the new thread's creator), the new thread stops once
 * at birth, signals go through us and are delivered unchanged, job-control
 * stops are kept with PTRACE_LISTEN.  The tracing is done by a thread of
 * leakscan's own, whose exit before each snapshot lets the process go
 * without stopping a thread asleep in a call (track_stop), so that the
 * snapshot reads it as -p does; only the threads asleep in a wait that a
 * signal ends with EINTR (which is rewound) or running are stopped, and
 * detached at that stop, before the exit.
 * The calling thread keeps SIGCHLD blocked while the tracer runs, and the
 * signals that end or stop leakscan (^C, SIGTERM, ^Z...), which wait until
 * the tracer has let the process go, then act. */
#ifndef LEAKSCAN_TRACK_H
#define LEAKSCAN_TRACK_H

#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "python.h"

struct track;

/* Returns a new tracker for process pid, not yet attached.  NULL: -ENOMEM. */
struct track *track_new(pid_t pid, size_t creator_window);

/* Starts the tracer thread, which seizes every thread of the process but
 * the main one (none is stopped) and serves their events until track_stop.
 * Returns 0 or a negative errno (nothing seized). */
int track_start(struct track *tr);

/* Waits until until_us (CLOCK_MONOTONIC) while the tracer serves the
 * process's ptrace events.  A signal that ends or stops leakscan arriving
 * meanwhile ends the tracer first (track_stop), then acts as it would
 * have: leakscan dies of it, or (^Z, then continued) starts a new tracer
 * and waits on. */
void track_run(struct track *tr, uint64_t until_us);

/* Ends the tracer: it serves the events already there, interrupts and
 * detaches at their stop the tracees its exit would leave exposed to an
 * ignored signal (asleep in an indefinite wait that a signal ends with
 * EINTR, which it rewinds, or running), then exits, and the kernel
 * detaches the others as they are (asleep in another call: none is
 * stopped).  Returns once they are all detached.  Does nothing when no
 * tracer runs. */
void track_stop(struct track *tr);

/* The stack that created thread tid while we tracked, or NULL. */
const struct thread_capture *track_creator(const struct track *tr, pid_t tid);

/* The Python frames of creator (one that track_creator returned), read
 * while it created the thread, or NULL: none (no CPython whose layout is
 * known, or no Python frame).  Owned by the tracker, valid while the
 * creator is; userdata is unused (the shape of creator_lookup's python). */
const struct python_stack *track_creator_python(void *userdata, const struct thread_capture *creator);

/* Detaches what is still attached, and frees. */
void track_free(struct track *tr);

#endif
