/* Seize: stop every thread of a process without disturbing it, hand the
 * stopped set to capture, and release it exactly as it was.
 *
 * PTRACE_SEIZE + PTRACE_INTERRUPT, never PTRACE_ATTACH or SIGSTOP: no signal
 * is injected, a job-control stop in force stays in force after we detach,
 * and a signal that arrives while we hold a thread is re-injected when we let
 * it go. */
#ifndef LEAKSCAN_SEIZE_H
#define LEAKSCAN_SEIZE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"

/* Checks that pid can be inspected at all.  Returns 0, or -ESRCH (no such
 * process), -ENOTUNIQ (a thread of another process), -ECHILD (zombie),
 * -EINVAL (kernel thread), -EDEADLK (leakscan itself), -EBUSY (another
 * tracer of the main thread; its pid in *ret_tracer).
 * *ret_threads (may be NULL) gets its thread count, as /proc says now. */
int seize_check_process(pid_t pid, pid_t *ret_tracer, long *ret_threads);

/* Finds a thread of pid traced by another process.  Returns 0 with the
 * tracer and the thread, or -ENOENT (or -ESRCH: no such process). */
int seize_find_tracer(pid_t pid, pid_t *ret_tracer, pid_t *ret_tid);

/* Whether process pid has exited (no longer exists, or is a zombie with no
 * thread left), e.g. during a snapshot. */
bool seize_process_gone(pid_t pid);

/* Lists the threads of cap->pid, reads their pre-stop facts, seizes and stops
 * each, and repeats until a pass finds no new thread.  With
 * cap->sample_running, a thread that runs is read with a perf sample
 * instead (capture_sample_thread; t->sampled), never seized.  On return every thread
 * not marked vanished is held stopped (unless it did not stop within
 * stop_timeout_ms: then stopped is false).  Starts the stop clock in cap.
 * With cap->stopfree, a thread asleep in a syscall is not seized but read
 * from /proc (capture_stopfree_begin; t->stopfree), and must be checked with
 * capture_stopfree_verify once its stack and lock bytes are copied.
 * Returns 0, -ESRCH when no thread could be seized, -EBUSY when a thread has
 * another tracer, or -EPERM.  On failure
 * the threads already seized are released.  Threads in cap->preseized_tids
 * are the caller's tracees, already stopped: they are read as stopped and
 * never seized nor released here. */
int seize_process(struct process_capture *cap, unsigned stop_timeout_ms);

/* After seize_process: lists the threads again and takes the new ones as
 * seize_process does (a thread read without a stop that moved may have
 * started some).  Returns 0 or a negative errno; nothing is released on
 * failure. */
int seize_more(struct process_capture *cap, unsigned stop_timeout_ms);

/* Reads thread t without a stop if it can: stop-free while it sleeps in
 * a call, with a perf sample while it runs, the two in turn.  A thread
 * that keeps waking and sleeping (an event loop spinning and napping, a
 * busy queue's consumer) is often doing the other thing by the time one
 * reading is set up: a sample gives up on a thread it finds asleep, and a
 * thread found running has no call to read stop-free.  Each round reads
 * the thread's state afresh (capture_thread_prestop), and its sample
 * waits a little for a thread seen asleep to run again (not while we
 * hold threads stopped); a thread gets a bounded number of rounds per
 * snapshot, counted across calls, so that re-reading a stop-free reading
 * that moved ends.  Returns true when t
 * needs no stop: sampled (t->sampled), begun stop-free (t->stopfree: the
 * caller copies its stack and verifies the reading), or gone
 * (t->vanished); false when it must be stopped. */
bool seize_read_unstopped(struct process_capture *cap, struct thread_capture *t, unsigned timeout_ms);

/* Seizes and stops thread t alone, as seize_process would have (a thread
 * that could not be read without a stop: seize_read_unstopped failed),
 * waiting stop_timeout_ms at most and reading its registers.  Returns 0
 * (t->stopped tells whether it stopped in time), -ESRCH when it is gone,
 * -EBUSY or -EPERM. */
int seize_stop_thread(struct process_capture *cap, struct thread_capture *t, unsigned stop_timeout_ms);

/* Lets one held thread go (see seize_release).  The stop clock keeps
 * running until seize_release.  The main thread must go first (it is
 * cap->threads[0] when seized): while it is traced, signals the process
 * ignores are queued and may end the waits of threads already let go. */
void seize_release_thread(struct process_capture *cap, struct thread_capture *t);

/* Lets every held thread go, re-injecting pending signals, and re-entering
 * the indefinite waits that our interrupt ended with -EINTR (see
 * seize_eintr_restartable).  Stops the stop clock.  Never fails: a thread
 * that vanished is already free. */
void seize_release(struct process_capture *cap);

/* Whether syscall nr with these arguments is an indefinite wait that the
 * kernel ends with -EINTR, rather than restarting it, when a ptrace stop
 * interrupts it (signal(7): epoll_wait, sigtimedwait, semop, msgrcv,
 * io_getevents...).  Timed forms are left alone: restarting them would
 * lengthen the wait. */
bool seize_eintr_restartable(long nr, const uint64_t args[6]);

/* Whether a stopped thread's syscall returned -EINTR because of our
 * interrupt alone: an indefinite wait of seize_eintr_restartable, and no
 * signal pending or in delivery that the thread would act on.  seize_release
 * then makes it enter the wait again. */
bool seize_eintr_was_ours(pid_t pid, const struct thread_capture *t);

/* Makes thread t, stopped with its registers in t->regs, enter again the
 * indefinite wait that a stop of ours ended with -EINTR
 * (seize_eintr_was_ours); sets t->rewound when it did.  For seize's own
 * stops and for --watch's signal stops between snapshots. */
void seize_undo_eintr(pid_t pid, struct thread_capture *t);

/* Fills set with the signals that wait while leakscan holds threads (^C,
 * ^Z, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTTIN, SIGTTOU): a snapshot
 * blocks them from its seize to its release, --watch's tracer while it
 * traces. */
void seize_deferred_signals(sigset_t *set);

#endif
