/* The copy of a process that leakscan takes while its threads are stopped,
 * and the function that fills one thread of it.
 *
 * Everything after capture (unwind, symbolize, classify) works on this copy
 * only, so the target runs again as soon as capture is done.  The copy holds
 * what cannot be read later: registers, a window of stack above SP, the
 * futex word a thread waits on and what its fd argument points to.  The
 * scheduler facts (state letter, last-ran time) are read before the stop,
 * because stopping a thread makes it run. */
#ifndef LEAKSCAN_CAPTURE_H
#define LEAKSCAN_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "arch.h"
#include "procfs.h"

/* Bytes copied around a futex word, half before it: a pthread_cond_t's
 * word sits 32 or 36 bytes in, an rwlock's up to 12, and the owner and
 * count fields lie within 56 bytes of any object's start. */
#define CAPTURE_LOCK_WINDOW 128

struct thread_capture {
        pid_t tid;

        /* read before the stop */
        struct proc_stat stat;
        bool has_exec_start;
        uint64_t exec_start_ns;

        /* ptrace bookkeeping (seize.c) */
        bool seized;            /* we are its tracer */
        bool stopped;           /* held in a ptrace stop */
        bool vanished;          /* exited while we looked */
        bool held;              /* the caller holds it (cap->held_tids): not seized */
        bool group_stop;        /* held in a job-control stop, not our interrupt */
        int pending_signal;     /* arrived while held: re-inject on detach */

        /* read while stopped (capture.c) */
        bool regs_valid;
        arch_regs regs;
        long syscall_nr;        /* the syscall it slept in, or -1 */
        uint8_t *stack;         /* copy of [stack_addr, stack_addr + stack_len), in cap->chunks */
        uint64_t stack_addr;    /* SP when copied */
        size_t stack_len;
        bool stack_truncated;   /* the window was full: the stack goes on */
        bool has_futex_word;
        uint32_t futex_word;
        uint8_t lock[CAPTURE_LOCK_WINDOW];      /* the bytes around the futex word: */
        uint64_t lock_addr;                     /* enough of any glibc lock object */
        size_t lock_len;                        /* to read its owner and counts */
        char *fd_target;        /* readlink of the fd in argument 0, if any */

        /* seize.c: never seized, read from /proc alone: it was in an
         * uninterruptible sleep (D), where a ptrace stop cannot reach it */
        bool proc_only;

        /* read before the stop, with exec_start */
        bool has_nvcsw;
        uint64_t nvcsw;         /* voluntary context switches so far */

        /* seize.c: our stop ended its indefinite wait with EINTR, and it was
         * rewound into the wait when it stopped; regs show it as found */
        bool rewound;

        /* capture.c: what capture_thread_state found to read in a batch */
        uint64_t futex_addr;    /* the futex word it waits on (capture_locks), or 0 */
        int wait_fd;            /* the fd it waits on (capture_fds), or -1 */

        /* seize.c: the caller holds it in a ptrace stop of its own
         * (cap->preseized_tids): read like a thread we stopped, never
         * seized, interrupted or detached here */
        bool preseized;

        /* capture.c: read with no stop at all (capture_stopfree_begin):
         * asleep in syscall_nr, its registers from /proc's syscall line,
         * never seized.  switches and sc are the readings taken before its
         * stack and lock bytes were copied, compared with new ones after
         * (capture_stopfree_verify). */
        bool stopfree;
        /* regs came from a syscall line (arch_regs_from_syscall): only the
         * pc, stack pointer and arguments are known, the callee-saved
         * registers are not (the unwinder leaves them undefined) */
        bool regs_partial;
        bool fp_guessed;        /* but the frame pointer was found on the stack
                                 * (inspect's frame-pointer recovery) */
        bool witness_from_status;       /* the kernel keeps no schedstat counts */
        uint64_t switches;      /* times switched in (schedstat), or out (status) */
        uint64_t run_ns;        /* time run (schedstat), 0 from status */
        struct proc_syscall sc;
        unsigned unstopped_tries;       /* rounds of seize_read_unstopped */
        bool has_status_voluntary;      /* its voluntary switches, from the */
        uint64_t status_voluntary;      /* status read inside this reading */
        bool stopfree_verified; /* capture_stopfree_verify passed: it ran nothing
                                 * from that status to the check */
        /* capture.c: the thread's syscall and schedstat files, kept open
         * from capture_threads_prestop to capture_process_late so that each
         * later reading is one pread (fd + 1; 0: none, opened per reading) */
        int syscall_fd1, schedstat_fd1;
        /* capture_threads_prestop took the first stop-free reading already,
         * beside its other reads; capture_stopfree_begin hands it out */
        bool prepared;
        int prepared_result;    /* what capture_stopfree_begin returns for it */
        /* seize.c: we stopped it (a ptrace stop of ours, not the caller's),
         * which the report marks; stopped_us: from the stop's report to its
         * release (has_stopped_us once released) */
        bool was_stopped;
        bool has_stopped_us;
        uint64_t stop_seen_us;  /* CLOCK_MONOTONIC, while held */
        uint64_t stopped_us;

        /* capture.c: running on a CPU, read with one perf sample instead of
         * a stop (capture_sample_thread): whole user registers but the
         * thread pointer, and its stack, taken at one tick; never seized */
        bool sampled;
};

/* Stack copies live in prefaulted chunks: the page faults of fresh memory
 * (about 10 us each on a virtual machine) then happen before the stop, not
 * while the target waits. */
struct capture_chunk {
        struct capture_chunk *next;
        size_t size, used;
        uint8_t data[];
};

/* A range of addresses that process_vm_readv reads through: adjacent
 * readable mappings of /proc/PID/maps, merged. */
struct capture_run {
        uint64_t start, end;
};

struct process_capture {
        pid_t pid;
        struct capture_chunk *chunks;   /* the first is the one being filled */
        struct thread_capture *threads;
        size_t n_threads;
        size_t cap_threads;
        size_t n_vanished;
        bool incomplete;        /* threads kept appearing: some may be missing */
        const pid_t *held_tids; /* threads the caller holds in a syscall (--at-exit:   */
        size_t n_held;          /* exit_group): read from /proc, never seized here */
        char *maps_text;        /* /proc/PID/maps as read during the stop */
        bool has_now;
        uint64_t now_sched_ns;  /* the scheduler clock when we came */
        bool has_clock_offset;  /* capture_align_sched_clocks: each thread's */
        int64_t sched_minus_mono_ns;    /* exec_start is on the clock that
                                         * runs this far ahead of
                                         * CLOCK_MONOTONIC */
        uint64_t stop_begin_us, stop_end_us;    /* CLOCK_MONOTONIC */
        void *live_unwind;      /* stacks an unwinder took while the threads */
        void (*live_unwind_free)(void *);       /* were stopped (unwind.h) */
        bool remember_blocked;  /* pid mode: blocked times survive our snapshots (blocked.c) */
        bool rewind_at_release; /* seize.c: leave the registers as found while
                                 * held (a live unwinder reads them) */
        bool sigmask_saved;     /* seize.c: our own signal mask before the stop */
        sigset_t saved_sigmask; /* window, restored when it ends */
        size_t *tid_index;      /* open addressing: 1 + index into threads, 0 empty */
        size_t tid_index_size;  /* a power of two, at least twice n_threads */
        struct capture_run *readable;   /* readable ranges of maps_text, for */
        size_t n_readable;              /* the stack copies (capture_stacks) */
        bool nice_saved;        /* seize.c: our own priority before the stop */
        int saved_nice;         /* window, restored when it ends */
        bool maps_early;        /* maps_text and readable were read before the
                                 * stop (capture_process_early) */
        size_t reserve_ahead;   /* bytes capture_threads_prestop reserves
                                 * (capture_reserve) beside its reads */
        bool stopfree;          /* read threads asleep in a syscall without a
                                 * stop (capture_stopfree_begin) */
        bool refuse_visible_stop;       /* and fail (-EWOULDBLOCK) rather than
                                         * stop one that keeps moving */
        size_t n_stopfree;      /* threads read with no stop */
        size_t n_kept_fds;      /* /proc files kept open for the readings */
        size_t max_kept_fds;    /* (atomic), at most this many */
        size_t n_stop_needed;   /* read stop-free, moved, then stopped */
        bool sample_running;    /* read running threads with a perf sample
                                 * (capture_sample_thread) rather than a stop */
        bool sample_refused;    /* perf refused us once: stop them */
        size_t sample_window;   /* the stack window the stops copy */
        size_t n_sampled;       /* threads read with a sample */
        size_t n_moved;         /* stop-free readings that found the thread moved */
        uint64_t late_hold_us;  /* how long threads stopped after their
                                 * reading failed were held, in all */
        const pid_t *preseized_tids;    /* threads the caller traces and holds in a */
        size_t n_preseized;             /* ptrace stop (--at-exit's quarantine): read
                                         * while stopped, left stopped on release */
        struct snapshot *snapshot_record;       /* snapshot.h: what the analysis reads */
        const struct snapshot *snapshot_replay; /* live is kept, or read instead */
};

struct process_capture *process_capture_new(pid_t pid);
void process_capture_free(struct process_capture *cap);

/* Adds an empty entry for tid.  Returns it, or NULL on -ENOMEM. */
struct thread_capture *process_capture_add(struct process_capture *cap, pid_t tid);

/* The entry for tid, or NULL.  Constant time (a hash index over threads). */
struct thread_capture *process_capture_find(struct process_capture *cap, pid_t tid);

/* Makes room for bytes of stack copies, faulted in now.  Call before the
 * stop with an estimate; capture takes more if it must.  Returns 0 or
 * -ENOMEM. */
int capture_reserve(struct process_capture *cap, size_t bytes);

/* Whether the caller holds tid stopped (cap->held_tids). */
bool process_capture_holds(const struct process_capture *cap, pid_t tid);

/* Reads what /proc shows of thread tid of process pid blocked in a syscall,
 * without stopping it: pc, stack pointer, syscall number and arguments (the
 * other registers read as 0; unwinding recovers the callee-saved ones from
 * the frames that saved them).  Then copies window bytes of its stack (0:
 * none) into a new buffer.  Fills *ret (ret->stack owned by the caller).
 * Returns 0, -ESRCH (no such thread in that process), or -EAGAIN when the
 * thread is not in a syscall. */
int capture_blocked_thread(pid_t pid, pid_t tid, size_t window, struct thread_capture *ret);

/* What capture_blocked_thread gives, from registers the caller knows: tid
 * waits in syscall nr(args) with stack pointer sp, returning to pc (--at-exit
 * takes them from a seccomp notification and its clone site).  Copies
 * window bytes of its stack from sp (0: none) into a new buffer owned by
 * the caller.  Returns 0 or -ENOMEM. */
int capture_syscall_at(pid_t tid, long nr, const uint64_t args[6], uint64_t sp, uint64_t pc, size_t window,
                       struct thread_capture *ret);

/* What /proc/PID/task/TID/status says of a thread's scheduling. */
struct thread_switches {
        char state;
        pid_t tracer;           /* TracerPid */
        uint64_t switches;      /* voluntary + nonvoluntary context switches:
                                 * how many times it left a CPU */
        uint64_t voluntary;     /* the first of them */
};

/* Reads it.  The count is unchanged across two readings only if the
 * thread ran nothing in between, given a /proc syscall reading between
 * them (which waits for a thread on its CPU to leave it).  Returns 0,
 * -ESRCH, or -EPERM when we may not read it. */
int capture_thread_switches(pid_t pid, pid_t tid, struct thread_switches *ret);

/* Begins reading thread t without stopping it: a witness of its running
 * (schedstat's time run and times switched in; status's switch count on a
 * kernel without them), its status (asleep, S; traced by no one else),
 * then its syscall line.  When t sleeps in a syscall sets
 * t->regs from that line (capture_blocked_thread's registers),
 * t->syscall_nr, the futex and fd it waits on, and t->stopfree; the caller
 * then copies its stack and lock bytes and calls capture_stopfree_verify.
 * The first call after capture_threads_prestop hands out the reading it
 * took.  Returns 0, -EAGAIN when it runs or is not in a syscall (stop it),
 * -ESRCH when it is gone. */
int capture_stopfree_begin(pid_t pid, struct thread_capture *t);

/* Ends a stop-free reading: the syscall line, then the witness, read
 * again.  Returns 0 when the line is the same (so the thread is asleep
 * now) and the witness unchanged (it was not put on a CPU since
 * capture_stopfree_begin: what was copied meanwhile is what it had),
 * -EAGAIN when it moved (read it again, or stop it), -ESRCH when it is
 * gone. */
int capture_stopfree_verify(pid_t pid, struct thread_capture *t);

/* Forgets what a reading copied of t (stack, lock bytes, fd), so that it
 * can be read again. */
void capture_thread_forget(struct thread_capture *t);

/* Reads thread t, running on a CPU, with one perf sample (sample.h)
 * instead of a stop: its registers and cap->sample_window bytes of stack
 * (into cap's chunks), waiting timeout_ms at most, and patience_ms even
 * for a thread seen asleep (sample_thread); sets t->sampled.
 * Returns 0, -ESRCH when it is gone, -EAGAIN when no sample came because
 * it went to sleep (read it without a stop), -ETIME when none came in
 * timeout_ms while it stayed runnable (it never left the kernel), or
 * -EOPNOTSUPP when it must be stopped instead: perf refused (then
 * cap->sample_refused, and no later thread tries), a 32-bit thread, or a
 * stack deeper than a sample carries (which a stop would copy further). */
int capture_sample_thread(struct process_capture *cap, struct thread_capture *t, unsigned timeout_ms,
                          unsigned patience_ms);

/* capture_sample_thread for n threads, SAMPLE_BATCH at a time, their waits
 * for a tick overlapping; results[i] gets what capture_sample_thread
 * returns for ts[i]. */
void capture_sample_threads(struct process_capture *cap, struct thread_capture **ts, size_t n, unsigned timeout_ms,
                            int *results);

/* Copies the stack window of t alone (stack_window bytes above SP, as far
 * as readable). */
void capture_thread_stack(struct process_capture *cap, struct thread_capture *t, size_t stack_window);

/* The thread pointer of a thread whose registers came from a syscall line
 * (regs_partial: /proc does not show fs_base): glibc's thread control block
 * lies at the top of a thread's stack mapping and begins with two pointers
 * to itself (tcbhead_t: tcb at 0, self at 16, the x86_64 TLS ABI), found
 * in the stack copy below end (the end of the stack's mapping: the copy
 * may run on into other mappings, the main thread's block among them).
 * Returns it, or 0 when the copy does not hold one (the main thread's lies
 * elsewhere). */
uint64_t capture_guess_thread_pointer(const struct thread_capture *t, uint64_t end);

/* After the release: the thread pointer of the one thread read without a
 * stop whose stack copy does not hold its TCB (the main thread's: ld.so
 * puts it in a small anonymous mapping of its own), found in the small
 * anonymous writable mappings of cap->maps_text as the one TCB (two
 * pointers to itself, as capture_guess_thread_pointer looks for) that is
 * no other thread's.  Sets it in that thread's registers.  Does nothing
 * unless exactly one thread and one such TCB are left: an unknown pointer
 * only keeps the analysis from telling a thread's own TLS (e.g. the stacks
 * of jemalloc's thread cache) apart, which can hide a leak, never invent
 * one; a wrong one could. */
void capture_recover_thread_pointers(struct process_capture *cap);

/* Reads the pre-stop facts of one thread (stat, sched).  Returns 0 or -ESRCH
 * when the thread is gone. */
int capture_thread_prestop(pid_t pid, struct thread_capture *t);

/* capture_thread_prestop for threads[from] to the last, on two threads of
 * ours when there are many (the reads are independent, and about a quarter
 * of a snapshot's CPU time at 1000 threads); a thread whose facts cannot be read
 * is marked vanished.  Meanwhile, the second thread (or else this one)
 * reserves cap->reserve_ahead bytes of copies, and clears it.  In a
 * stop-free snapshot (cap->stopfree) it also takes the first stop-free
 * reading of each thread asleep (capture_stopfree_begin hands it out) and
 * keeps its syscall and schedstat files open for the later ones, as many
 * as half our file limit allows; capture_process_late closes them.  Call
 * with the thread list complete: it must not grow meanwhile. */
void capture_threads_prestop(struct process_capture *cap, size_t from);

/* Puts every thread's se.exec_start (read by capture_threads_prestop) on
 * one clock and sets now_sched_ns on it, at now_mono_us (CLOCK_MONOTONIC,
 * the moment now_sched_ns stands for): it may run after the release.  The scheduler clock behind
 * exec_start (rq_clock_task) runs per CPU and leaves out that CPU's
 * interrupt and steal time, so on a VM two CPUs' clocks drift seconds
 * apart, and a thread that last ran on another CPU than ours got a blocked
 * time off by that much.  A short-lived thread of ours visits each CPU the
 * threads last ran on and reads its clock against CLOCK_MONOTONIC; threads
 * on a CPU it may not visit (affinity, cpuset) keep their reading.
 * Returns 0, or a negative errno when no CPU could be read (then nothing
 * changed, and now_sched_ns stays the caller's own clock). */
int capture_align_sched_clocks(struct process_capture *cap, uint64_t now_mono_us);

/* Closes the files capture_threads_prestop kept open (capture_process_late
 * and process_capture_free call it). */
void capture_close_kept(struct process_capture *cap);

/* Copies the registers of a stopped thread, and finds what its wait
 * depends on that other threads could change: the futex word (read by
 * capture_locks while every thread is still held, so that lock words agree
 * with each other) and the fd (named by capture_fds after the release).
 * A thread that is not stopped (held by the caller in a syscall, or in an
 * uninterruptible sleep: proc_only, or seized but never stopped) gives its
 * pc, stack pointer and syscall from /proc/PID/task/TID/syscall; none when
 * it runs.
 * Returns 0, -ESRCH when the thread vanished, -EPROTONOSUPPORT for a
 * 32-bit thread, or another negative errno. */
int capture_thread_state(struct process_capture *cap, struct thread_capture *t);

/* Copies the bytes around the futex word of every thread that waits on one
 * (CAPTURE_LOCK_WINDOW, half before the word), with one process_vm_readv per
 * batch of threads.  Call while all threads are held, after
 * capture_thread_state. */
void capture_locks(struct process_capture *cap);

/* Copies the stack windows (at most stack_window bytes above SP, as far as
 * memory is readable: the end of the stack's mapping, per capture_process's
 * maps) of a batch of threads from threads[first] on, with one
 * process_vm_readv.  Only a thread itself writes its stack, so each batch
 * may be released as soon as it is copied.  Returns how many threads from
 * first it handled (at least 1 while first < n_threads). */
size_t capture_stacks(struct process_capture *cap, size_t first, size_t stack_window);

/* Names the file each thread's fd argument points to (readlink of
 * /proc/PID/fd/N, once per distinct fd), as fd_target.  After the release:
 * a thread blocked on a fd keeps that file whatever the others do, and a
 * readlink through procfs is among the dearest reads of the window. */
void capture_fds(struct process_capture *cap);

/* Reads the process-wide facts that must match the stopped threads
 * (/proc/PID/maps, and from it the readable ranges the stack copies need),
 * unless capture_process_early read them just before the stop.  Returns 0
 * or a negative errno. */
int capture_process(struct process_capture *cap);

/* Just before the stop: reads /proc/PID/maps and from it the readable
 * ranges that the stack copies are sized by, so that capture_process reads
 * nothing while every thread is held (a maps read grows with the mappings:
 * 2 per thread, 11-44 ms of the window at 10,000 threads).  The ranges need
 * not be exact: a stack the early maps do not cover (a thread created
 * since) is copied on its own, as far as it is readable.  Not done when a
 * live unwinder reads the maps while the threads are held
 * (cap->rewind_at_release): that one gets them as they are then.  Returns
 * 0 or a negative errno (then capture_process reads in the window). */
int capture_process_early(struct process_capture *cap);

/* After the release, when the maps were read early: reads them again for
 * the steps after (modules, wait objects, reachability), which then see
 * every mapping made before the stop, including any made after the early
 * read.  Keeps the early text when the process is gone. */
void capture_process_late(struct process_capture *cap);

/* The syscall argument that is a fd for syscall nr, or -1 when it takes none
 * that a wait would block on. */
int capture_syscall_fd_arg(long nr);

#endif
