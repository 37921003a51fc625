/* Seize and release; see seize.h.  The ptrace corners handled here are listed
 * in docs/design.md ("Stopping threads safely"). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "seize.h"
#include "syscalls.h"
#include "util.h"

#define SEIZE_MAX_PASSES 10
/* How often the stop wait looks for threads in an uninterruptible sleep. */
#define SEIZE_D_CHECK_US 10000u

int seize_check_process(pid_t pid, pid_t *ret_tracer, long *ret_threads)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_stat st;
        long tracer = 0, threads = 1;

        if (pid <= 0)
                return -ESRCH;
        if (pid == getpid())
                return -EDEADLK;        /* we cannot stop our own threads */
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_full_file(path, &text) < 0 || procfs_parse_stat(text, &st) < 0)
                return -ESRCH;
        if (st.flags & PF_KTHREAD_FLAG)
                return -EINVAL;
        free(TAKE_PTR(text));

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        if (read_full_file(path, &text) < 0)
                return -ESRCH;
        long tgid = pid;
        (void) procfs_parse_status_field(text, "Tgid", &tgid);
        if (tgid != pid)
                return -ENOTUNIQ;       /* a thread of another process */
        (void) procfs_parse_status_field(text, "Threads", &threads);
        if (ret_threads)
                *ret_threads = threads;
        /* A leader that called pthread_exit is a zombie while its threads
         * live on: that process is still worth looking at. */
        if ((st.state == 'Z' || st.state == 'X') && threads <= 1)
                return -ECHILD;
        (void) procfs_parse_status_field(text, "TracerPid", &tracer);
        if (tracer != 0 && tracer != getpid()) {
                if (ret_tracer)
                        *ret_tracer = (pid_t) tracer;
                return -EBUSY;
        }
        return 0;
}

int seize_find_tracer(pid_t pid, pid_t *ret_tracer, pid_t *ret_tid)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        int r = procfs_list_tasks(pid, &tids, &n);
        if (r < 0)
                return r;
        /* the main thread first: when the whole process is traced, name it */
        for (size_t pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < n; i++) {
                        if ((pass == 0) != (tids[i] == pid))
                                continue;
                        char path[64];
                        _cleanup_free_ char *text = NULL;
                        long tracer = 0;
                        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) tids[i]);
                        if (read_full_file(path, &text) < 0 ||
                            procfs_parse_status_field(text, "TracerPid", &tracer) < 0 ||
                            tracer == 0 || tracer == getpid())
                                continue;
                        *ret_tracer = (pid_t) tracer;
                        *ret_tid = tids[i];
                        return 0;
                }
        return -ENOENT;
}

/* Threads killed while we held them end as zombies that only their tracer
 * may reap: the process lingers until we do.  Reaps those of pid's threads
 * that are ours; never the main thread, which may be the caller's child.
 * Exits only (WEXITED): a thread still seized, one that never stopped in
 * time and stops later, may be in a signal-delivery-stop, and a wait that
 * consumed it (waitpid reports a tracee's stops unasked) would clear the
 * signal from its exit code, which the kernel's detach at our exit would
 * then not deliver (seize_wait_status). */
static void reap_our_zombies(pid_t pid)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        if (procfs_list_tasks(pid, &tids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                siginfo_t si;
                if (tids[i] != pid)
                        (void) waitid(P_PID, (id_t) tids[i], &si, WEXITED | WNOHANG | __WALL);
        }
}

bool seize_process_gone(pid_t pid)
{
        /* A process being killed is torn down in steps: its memory goes
         * first (then libdw and /proc fail), its threads one by one, the
         * zombie last.  While its main thread is exiting, give the exit a
         * moment to finish; a main thread that ended alone (pthread_exit)
         * while others live on stays a zombie with threads: not gone. */
        for (int i = 0; i < 20; i++) {
                reap_our_zombies(pid);
                char path[64];
                _cleanup_free_ char *text = NULL;
                struct proc_stat st;
                long threads = 1;
                snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
                if (read_full_file(path, &text) < 0 || procfs_parse_stat(text, &st) < 0)
                        return true;
                bool zombie = st.state == 'Z' || st.state == 'X';
                bool exiting = zombie || (st.flags & PF_EXITING_FLAG);
                free(TAKE_PTR(text));
                snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
                if (read_full_file(path, &text) < 0)
                        return true;
                (void) procfs_parse_status_field(text, "Threads", &threads);
                if (zombie && threads <= 1)
                        return true;
                /* killed, and the main thread has not begun its exit yet */
                uint64_t pending = 0, shared = 0, sigkill = UINT64_C(1) << (SIGKILL - 1);
                (void) procfs_parse_status_mask(text, "SigPnd", &pending);
                (void) procfs_parse_status_mask(text, "ShdPnd", &shared);
                if (!exiting && !((pending | shared) & sigkill))
                        return false;
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return false;
}

/* Interprets one wait status of a seized thread.  Returns true when the
 * thread is now held (stopped) or gone. */
static bool seize_note_status(struct thread_capture *t, int status)
{
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                t->vanished = true;
                t->stopped = false;
                return true;
        }
        if (!WIFSTOPPED(status))
                return false;
        t->stopped = true;
        if (!t->was_stopped) {
                t->was_stopped = true;
                t->stop_seen_us = now_usec(CLOCK_MONOTONIC);
        }
        if ((status >> 16) == PTRACE_EVENT_STOP) {
                /* our interrupt (SIGTRAP), or a group-stop (the stop signal):
                 * nothing to re-inject */
                t->group_stop = WSTOPSIG(status) != SIGTRAP;
                return true;
        }
        if ((status >> 16) != 0)
                return true;    /* another ptrace event (a clone, for
                                 * --watch's tracker): no signal either */
        /* A signal-delivery-stop came before our interrupt: hold the thread
         * here and hand the signal back when we detach. */
        t->pending_signal = WSTOPSIG(status);
        return true;
}

/* Reads the wait status of a seized thread, without blocking.  A ptrace
 * stop is left unreaped (WNOWAIT): until a wait consumes a
 * signal-delivery-stop, the signal stays in the thread's exit code, so if
 * leakscan is killed before it detaches with the signal, the kernel's own
 * detach delivers it and nothing is lost.  Our interrupt's and group stops
 * need no reaping either (PTRACE_DETACH overwrites the exit code a wait
 * would have cleared), which saves a syscall per thread in the window.  An
 * exit is reaped (an exited thread must not linger as our zombie).  Returns
 * as waitpid. */
static pid_t seize_wait_status(pid_t tid, int *status)
{
        /* wait4 knows no WNOWAIT: peek with waitid, whose si_status of a
         * ptrace stop carries the event in its second byte as the wait
         * status does */
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) < 0)
                return -1;
        if (si.si_pid != tid)
                return 0;
        if (si.si_code == CLD_TRAPPED) {
                *status = (si.si_status << 8) | 0x7f;
                return tid;
        }
        return waitpid(tid, status, __WALL | WNOHANG);
}

/* Whether every seized thread in [from, n) that has not stopped yet sleeps
 * uninterruptibly now. */
static bool only_asleep_in_d_left(struct process_capture *cap, size_t from)
{
        for (size_t i = from; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (!t->seized || t->stopped || t->vanished)
                        continue;
                char path[64];
                _cleanup_free_ char *text = NULL;
                struct proc_stat st;
                snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) cap->pid, (int) t->tid);
                if (read_full_file(path, &text) < 0 || procfs_parse_stat(text, &st) < 0)
                        continue;       /* gone: the next wait says so */
                if (st.state != 'D')
                        return false;
        }
        return true;
}


/* Right when a thread stops: reads its registers (capture uses this copy),
 * and if our interrupt ended an indefinite wait with EINTR, rewinds it into
 * the wait at once rather than at the release, so that a leakscan killed
 * in between (SIGKILL cannot wait) leaves no EINTR behind either (unless
 * cap->rewind_at_release). */
static void seize_on_stop(struct process_capture *cap, struct thread_capture *t)
{
        if (!t->stopped || t->vanished || t->regs_valid)
                return;
        if (arch_get_regs(t->tid, &t->regs) < 0)
                return;         /* capture reads again, and reports what it finds */
        t->regs_valid = true;
        if (!cap->rewind_at_release)
                seize_undo_eintr(cap->pid, t);
}

/* Waits a little for each thread in [from, n) in turn, in the order they
 * were interrupted: when one has stopped, those interrupted after it mostly
 * have too, so this costs about one wait per thread.  Polling all pending
 * threads in rounds cost one wait per pending thread per round, quadratic
 * in threads (1-8 s of stop at 10,000), and kept a CPU from the threads
 * that had to run to stop.  A thread still running after its share of
 * patience is left to the polling of seize_wait_stopped, which also finds
 * the ones in an uninterruptible sleep. */
static void seize_wait_in_order(struct process_capture *cap, size_t from)
{
        /* once one thread used up its patience (it sleeps uninterruptibly,
         * or the machine is overloaded), the rest get one look each */
        unsigned patience = 4 + 11;
        for (size_t i = from; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                for (unsigned tries = 0; t->seized && !t->stopped && !t->vanished; tries++) {
                        int status;
                        pid_t r = seize_wait_status(t->tid, &status);
                        if (r == t->tid && seize_note_status(t, status)) {
                                seize_on_stop(cap, t);
                                break;
                        }
                        if (r < 0 && errno == ECHILD) {
                                t->vanished = true;
                                break;
                        }
                        /* yield first (the thread needs a CPU to stop), then
                         * sleep 1, 2, ... 1024 us: about 2 ms in all */
                        if (tries >= patience) {
                                patience = 0;
                                break;
                        }
                        if (tries < 4) {
                                sched_yield();
                        } else {
                                struct timespec ts = { 0, 1000L << (tries - 4) };
                                nanosleep(&ts, NULL);
                        }
                }
        }
}

/* Waits until every thread seized in [from, n) is stopped or gone, polling so
 * that one thread stuck in an uninterruptible sleep cannot hang us. */
static void seize_wait_stopped(struct process_capture *cap, size_t from, unsigned timeout_ms)
{
        seize_wait_in_order(cap, from);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000u;
        uint64_t next_d_check = now_usec(CLOCK_MONOTONIC) + SEIZE_D_CHECK_US;
        unsigned idle_us = 1;
        for (;;) {
                bool pending = false, progress = false;
                for (size_t i = from; i < cap->n_threads; i++) {
                        struct thread_capture *t = &cap->threads[i];
                        if (!t->seized || t->stopped || t->vanished)
                                continue;
                        int status;
                        pid_t r = seize_wait_status(t->tid, &status);
                        if (r == t->tid && seize_note_status(t, status)) {
                                seize_on_stop(cap, t);
                                progress = true;
                                continue;
                        }
                        if (r < 0 && errno == ECHILD) {
                                t->vanished = true;
                                continue;
                        }
                        pending = true;
                }
                if (!pending)
                        return;
                if (progress) {
                        idle_us = 1;
                        continue;
                }
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return;
                /* Threads that entered an uninterruptible sleep after we
                 * read their state stop only when it ends: once only such
                 * threads are left, waiting for them would hold the others
                 * for nothing.  They stay seized, and stop (to be let go at
                 * the release, or by our exit) whenever they wake. */
                if (now >= next_d_check) {
                        if (only_asleep_in_d_left(cap, from))
                                return;
                        next_d_check = now + SEIZE_D_CHECK_US;
                }
                struct timespec ts = { 0, (long) idle_us * 1000 };
                nanosleep(&ts, NULL);
                if (idle_us < 1000)
                        idle_us *= 2;
        }
}

/* While we hold the target, our thread runs at the highest priority we may
 * take (nice -20 with CAP_SYS_NICE, as root; unchanged otherwise).  Each
 * interrupt and detach wakes a thread of the target, which would otherwise
 * preempt us on a busy machine while all the others wait for us: at 10,000
 * threads this shortened the floor's stop by a quarter.  The target's own
 * threads keep their priorities; seize_release restores ours. */
static void seize_hurry(struct process_capture *cap)
{
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, 0);        /* 0: this thread, on Linux */
        if (errno != 0 || nice == -20 || setpriority(PRIO_PROCESS, 0, -20) < 0)
                return;
        cap->saved_nice = nice;
        cap->nice_saved = true;
}

/* Seizes one listed thread, or marks why it is left alone (vanished, held
 * by the caller, read from /proc only).  Returns 0, or -EBUSY (another
 * tracer has it) or -EPERM (we may not) for the pass to report. */
static int seize_one(struct process_capture *cap, struct thread_capture *t)
{
        if (t->vanished)
                return 0;
        if (t->stat.state == 'Z' || t->stat.state == 'X') {
                t->vanished = true;     /* a zombie leader cannot be stopped */
                return 0;
        }
        if (process_capture_holds(cap, t->tid)) {
                t->held = true;
                return 0;
        }
        for (size_t i = 0; i < cap->n_preseized; i++)
                if (cap->preseized_tids[i] == t->tid) {
                        /* the caller's tracee, stopped: ours to read, not
                         * to let go (seize_release_thread skips it) */
                        t->preseized = true;
                        t->stopped = true;
                        return 0;
                }
        if (t->stat.state == 'D' || (t->stat.flags & PF_IO_WORKER_FLAG)) {
                /* A ptrace stop waits until the sleep ends, which may be
                 * never (a vfork parent, a hung NFS read), and a kernel
                 * io_uring worker never returns to user space to stop: read
                 * them from /proc and leave them alone. */
                t->proc_only = true;
                return 0;
        }
        if (ptrace(PTRACE_SEIZE, t->tid, 0, 0) == 0) {
                t->seized = true;
                return 0;
        }
        int e = errno, r = 0;
        /* EPERM for a thread that just exited looks the same as a real
         * refusal; a vanished or zombie task settles it.  A thread that is
         * our tracee already (it never stopped to be let go, in --watch) is
         * simply ours; one traced by someone else is "busy", whichever
         * thread it is. */
        char path[64];
        _cleanup_free_ char *status = NULL;
        long tracer = 0;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) cap->pid, (int) t->tid);
        bool exists = read_full_file(path, &status) >= 0;
        if (exists) {
                const char *state = strstr(status, "\nState:\t");
                if (state && (state[8] == 'Z' || state[8] == 'X'))
                        exists = false;
        }
        if (exists && procfs_parse_status_field(status, "TracerPid", &tracer) == 0 && tracer != 0) {
                if (tracer == getpid()) {
                        t->seized = true;
                        return 0;
                }
                r = -EBUSY;
        } else if (e == EPERM && exists) {
                r = -EPERM;
        }
        t->vanished = true;
        return r;
}

/* Whether thread t is left unseized and read without a stop
 * (capture_stopfree_begin): cap->stopfree, and t asleep in a syscall.
 * Every other thread is seized and stopped: one that runs has no call in
 * progress for the stop to disturb. */
static bool seize_read_stopfree(struct process_capture *cap, struct thread_capture *t)
{
        if (!cap->stopfree || t->vanished || t->held || t->preseized || t->seized ||
            process_capture_holds(cap, t->tid))
                return false;
        for (size_t i = 0; i < cap->n_preseized; i++)
                if (cap->preseized_tids[i] == t->tid)
                        return false;
        int r = capture_stopfree_begin(cap->pid, t);
        if (r == -ESRCH) {
                t->vanished = true;
                return true;
        }
        if (r < 0)
                return false;
        cap->n_stopfree++;
        return true;
}

/* Whether thread t, not read without a stop, is one to sample: it runs
 * (or ran at its last look) where a stop would reach it, and nobody
 * holds it. */
static bool seize_may_sample(struct process_capture *cap, const struct thread_capture *t)
{
        if (!cap->sample_running || cap->sample_refused || t->vanished || t->held || t->preseized ||
            t->seized || t->stopfree || t->sampled || process_capture_holds(cap, t->tid))
                return false;
        char st = t->stat.state;
        if (st == 'D' || st == 'Z' || st == 'X' || st == 'T' || st == 't' || (t->stat.flags & PF_IO_WORKER_FLAG))
                return false;
        for (size_t i = 0; i < cap->n_preseized; i++)
                if (cap->preseized_tids[i] == t->tid)
                        return false;
        return true;
}

/* Rounds of seize_read_unstopped for one thread in one snapshot. */
#define UNSTOPPED_TRIES 8
/* How long a sample in those rounds waits for a thread found asleep to
 * run again: one that moved is likely to nap between short runs, and one
 * asleep in a call for good is read stop-free in the next round. */
#define UNSTOPPED_PATIENCE_MS 2

/* Whether any thread is held by us now (a later pass of the seize, while
 * the threads of the first are stopped): then no wait is added. */
static bool seize_holds_any(const struct process_capture *cap)
{
        for (size_t i = 0; i < cap->n_threads; i++)
                if (cap->threads[i].seized && !cap->threads[i].vanished)
                        return true;
        return false;
}

bool seize_read_unstopped(struct process_capture *cap, struct thread_capture *t, unsigned timeout_ms)
{
        unsigned patience_ms = seize_holds_any(cap) ? 0 : UNSTOPPED_PATIENCE_MS;
        while (t->unstopped_tries < UNSTOPPED_TRIES) {
                t->unstopped_tries++;
                if (capture_thread_prestop(cap->pid, t) < 0) {
                        t->vanished = true;
                        return true;
                }
                if (seize_read_stopfree(cap, t))
                        return true;
                if (!seize_may_sample(cap, t))
                        return false;
                int r = capture_sample_thread(cap, t, timeout_ms, patience_ms);
                if (r == -ESRCH)
                        t->vanished = true;
                if (r == 0 || r == -ESRCH)
                        return true;
                /* only a thread seen asleep is worth another round; one
                 * runnable to the bound (in the kernel), a refused perf or
                 * no room is stopped */
                if (r != -EAGAIN)
                        return false;
        }
        return false;
}

/* Reads each thread from first on without a stop when it sleeps in a call
 * (seize_read_stopfree), and samples together those that run
 * (seize_may_sample's choice, capture_sample_threads); one that went to
 * sleep meanwhile is read as seize_read_unstopped reads it.  The others
 * are left for seize.  Returns 0 or -ENOMEM. */
static int seize_sample_new(struct process_capture *cap, size_t first, unsigned timeout_ms)
{
        _cleanup_free_ struct thread_capture **run = malloc((cap->n_threads - first + 1) * sizeof *run);
        _cleanup_free_ int *results = malloc((cap->n_threads - first + 1) * sizeof *results);
        if (!run || !results)
                return -ENOMEM;
        size_t n = 0;
        for (size_t i = first; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (!seize_read_stopfree(cap, t) && seize_may_sample(cap, t))
                        run[n++] = t;
        }
        if (n == 0)
                return 0;
        capture_sample_threads(cap, run, n, timeout_ms, results);
        for (size_t i = 0; i < n; i++) {
                struct thread_capture *t = run[i];
                if (results[i] == -ESRCH) {
                        t->vanished = true;
                } else if (results[i] == -EAGAIN) {
                        /* seen asleep: perhaps in a call, or awake again */
                        (void) seize_read_unstopped(cap, t, timeout_ms);
                } else if (results[i] == -ETIME) {
                        /* runnable to the bound, no tick in user space:
                         * one look for a call it has gone to sleep in
                         * since, never another wait */
                        if (capture_thread_prestop(cap->pid, t) < 0)
                                t->vanished = true;
                        else
                                (void) seize_read_stopfree(cap, t);
                }
        }
        return 0;
}

/* A test knob: LEAKSCAN_TEST_SEIZE_HOLD_FILE=PATH makes the first pass,
 * once its threads are seized and before any is interrupted, create PATH
 * and wait until it is removed (10 s at most).  A thread that acts on
 * being traced in that gap (tests/library/test_traced.py's dodger, which
 * goes into a vfork's uninterruptible sleep) then always wins a race it
 * otherwise wins only when the seizing is slow. */
static void seize_test_hold(void)
{
        const char *path = secure_getenv("LEAKSCAN_TEST_SEIZE_HOLD_FILE");
        if (!path || !*path)
                return;
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        close(fd);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10000000u;
        while (access(path, F_OK) == 0 && now_usec(CLOCK_MONOTONIC) < deadline) {
                struct timespec ts = { 0, 1000 * 1000 };
                (void) nanosleep(&ts, NULL);
        }
}

static void seize_interrupt(struct thread_capture *t)
{
        if (t->seized && !t->stopped && ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0 && errno == ESRCH)
                t->vanished = true;
}

/* One pass: seize and interrupt every listed thread not seen before.
 * Returns the number of new threads, or a negative errno (-EBUSY before
 * -EPERM).
 *
 * The main thread comes last, after every other thread is seized and
 * interrupted.  A process-directed signal is checked against the main
 * thread only (kernel/signal.c: prepare_signal -> sig_ignored(leader)): a
 * signal the process ignores (SIGCHLD, SIGURG, SIGWINCH by default, or
 * SIG_IGN) is thrown away at once, unless the main thread is traced, when
 * it is queued for the tracer to see.  complete_signal then wakes one
 * thread that is not stopped, and any thread may take the signal off the
 * shared queue.  A woken thread in epoll_wait, semop, sigwaitinfo... returns
 * -EINTR; if it is not ours yet, or ours but with no interrupt pending and
 * another thread took the signal, it has nothing to stop for and goes back
 * to the program with EINTR, which we never see.  Seized and interrupted
 * first, the other threads stop in the kernel (our trap is taken before any
 * signal is dequeued) with that -EINTR in their registers, which
 * seize_on_stop rewinds; the main thread itself stops for the signal
 * (signal-delivery-stop) or for our interrupt, both seen.  seize_release
 * lets the main thread go first, for the same reason, and so does the
 * kernel's own detach if we are killed (it detaches the newest tracee
 * first).  A main thread that runs is sampled (seize_sample_new), never
 * traced: then none of this arises. */
static int seize_new_threads(struct process_capture *cap, const pid_t *tids, size_t n, unsigned timeout_ms)
{
        size_t first_new = cap->n_threads;
        for (size_t i = 0; i < n; i++) {
                if (process_capture_find(cap, tids[i]))
                        continue;
                if (!process_capture_add(cap, tids[i]))
                        return -ENOMEM;
        }
        capture_threads_prestop(cap, first_new);
        /* the maps just before the stop; the samples find stacks in them */
        if (cap->stop_begin_us == 0 && !cap->maps_early)
                (void) capture_process_early(cap);
        int r = seize_sample_new(cap, first_new, timeout_ms);
        if (r < 0)
                return r;
        struct thread_capture *leader = NULL;
        for (size_t i = first_new; i < cap->n_threads; i++) {
                struct thread_capture *t = &cap->threads[i];
                if (t->stopfree || t->sampled || t->vanished)
                        continue;
                if (t->tid == cap->pid) {
                        leader = t;
                        continue;
                }
                int k = seize_one(cap, t);
                if (k == -EBUSY || (k == -EPERM && r == 0))
                        r = k;
        }
        if (cap->stop_begin_us == 0) {
                seize_test_hold();
                seize_hurry(cap);
                cap->stop_begin_us = now_usec(CLOCK_MONOTONIC);
        }
        for (size_t i = first_new; i < cap->n_threads; i++)
                if (&cap->threads[i] != leader)
                        seize_interrupt(&cap->threads[i]);
        if (leader) {
                int k = seize_one(cap, leader);
                if (k == -EBUSY || (k == -EPERM && r == 0))
                        r = k;
                seize_interrupt(leader);
        }
        if (r < 0)
                return r;
        return (int) (cap->n_threads - first_new);
}

/* The signals that end or stop leakscan by default and that a user or a
 * parent sends (^C, ^Z, kill, a closed terminal or pipe, a background
 * job's terminal access).  While threads are held they wait: the window
 * ends with every thread detached as it was, then they act (a leakscan
 * stopped by ^Z while holding threads would keep them frozen until it is
 * continued).  SIGKILL and SIGSTOP cannot wait; seize_wait_status keeps
 * what a SIGKILL could lose.  --watch's tracer defers the same ones
 * (track.c). */
void seize_deferred_signals(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGHUP);
        sigaddset(set, SIGPIPE);
        sigaddset(set, SIGQUIT);
        sigaddset(set, SIGTSTP);
        sigaddset(set, SIGTTIN);
        sigaddset(set, SIGTTOU);
}

static void seize_defer_signals(struct process_capture *cap)
{
        sigset_t set;
        seize_deferred_signals(&set);
        if (!cap->sigmask_saved && pthread_sigmask(SIG_BLOCK, &set, &cap->saved_sigmask) == 0)
                cap->sigmask_saved = true;
}

/* Whether the threads we hold are provably all the process has: every
 * thread we know is stopped (none can start another) or vanished, and the
 * kernel's count of the process's threads is the number we hold.  Then the
 * next listing of /proc/PID/task, which costs a directory entry per thread
 * while all are held, would find nothing new.  A known thread that runs
 * (held by the caller, read from /proc, not stopped in time) or a zombie
 * leader (counted by the kernel, vanished for us) sends us to the
 * listing. */
static bool seize_holds_all(const struct process_capture *cap)
{
        long stopped = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->vanished)
                        continue;
                /* a thread read without a stop counts as held: if a
                 * stop-free one runs to start a thread, its reading fails
                 * and the listing is made again (inspect's settle).  A
                 * sampled one runs on: a thread it starts after its tick is
                 * not in the snapshot, as one started after a stop's
                 * release is not (the count below still sees one started
                 * before this look) */
                if (t->stopfree || t->sampled) {
                        stopped++;
                        continue;
                }
                if (!(t->seized || t->preseized) || !t->stopped)
                        return false;
                stopped++;
        }
        char path[64], text[1024];
        struct proc_stat st;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) cap->pid);
        if (read_small_file(path, text, sizeof text) <= 0)
                return false;
        return procfs_parse_stat(text, &st) == 0 && st.num_threads == stopped;
}

/* Lists the threads, seizes (or reads without a stop) the new ones and
 * waits for them to stop, until a pass finds none new.  Returns 0 or a
 * negative errno. */
static int seize_passes(struct process_capture *cap, unsigned stop_timeout_ms)
{
        for (int pass = 0; pass < SEIZE_MAX_PASSES; pass++) {
                _cleanup_free_ pid_t *tids = NULL;
                size_t n = 0;
                if (pass > 0 && seize_holds_all(cap))
                        break;
                int r = procfs_list_tasks(cap->pid, &tids, &n);
                if (r < 0)
                        return r;
                size_t from = cap->n_threads;
                r = seize_new_threads(cap, tids, n, stop_timeout_ms);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                seize_wait_stopped(cap, from, stop_timeout_ms);
                if (pass == SEIZE_MAX_PASSES - 1)
                        cap->incomplete = true;
        }
        return 0;
}

int seize_more(struct process_capture *cap, unsigned stop_timeout_ms)
{
        return seize_passes(cap, stop_timeout_ms);
}

int seize_stop_thread(struct process_capture *cap, struct thread_capture *t, unsigned stop_timeout_ms)
{
        int r = seize_one(cap, t);
        if (r < 0)
                return r;
        if (t->vanished)
                return -ESRCH;
        if (!t->seized)
                return 0;       /* held by the caller, or read from /proc alone */
        if (cap->stop_begin_us == 0)
                cap->stop_begin_us = now_usec(CLOCK_MONOTONIC);
        seize_interrupt(t);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) stop_timeout_ms * 1000u;
        for (unsigned tries = 0; !t->stopped && !t->vanished; tries++) {
                int status;
                pid_t w = seize_wait_status(t->tid, &status);
                if (w == t->tid && seize_note_status(t, status))
                        break;
                if (w < 0 && errno == ECHILD) {
                        t->vanished = true;
                        break;
                }
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        break;
                if (tries < 4) {
                        sched_yield();
                } else {
                        struct timespec ts = { 0, 1000L << (tries < 14 ? tries - 4 : 10) };
                        nanosleep(&ts, NULL);
                }
        }
        seize_on_stop(cap, t);
        return t->vanished ? -ESRCH : 0;
}

int seize_process(struct process_capture *cap, unsigned stop_timeout_ms)
{
        int r;
        seize_defer_signals(cap);
        r = seize_passes(cap, stop_timeout_ms);
        if (r < 0)
                goto fail;

        size_t held = 0;
        cap->n_vanished = 0;
        for (size_t i = 0; i < cap->n_threads; i++) {
                if (cap->threads[i].vanished)
                        cap->n_vanished++;
                else if (cap->threads[i].seized || cap->threads[i].held || cap->threads[i].proc_only ||
                         cap->threads[i].preseized || cap->threads[i].stopfree || cap->threads[i].sampled)
                        held++;
        }
        if (held == 0) {
                r = -ESRCH;
                goto fail;
        }
        return 0;
fail:
        seize_release(cap);
        return r;
}

bool seize_eintr_restartable(long nr, const uint64_t args[6])
{
        return syscalls_eintr_restartable(nr, args);
}

/* Whether signal sig, arriving now, would be ignored by the thread: set
 * to SIG_IGN, or left at a default action of "ignore" (signal(7)). */
static bool signal_ignored(int sig, uint64_t ignored, uint64_t caught)
{
        uint64_t bit = UINT64_C(1) << (sig - 1);
        if (sig <= 0 || sig > 64)
                return false;
        if (ignored & bit)
                return true;
        bool default_ignore = sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
        return default_ignore && !(caught & bit);
}

bool seize_eintr_was_ours(pid_t pid, const struct thread_capture *t)
{
        if (!t->regs_valid || t->group_stop || !arch_regs_returned_eintr(&t->regs))
                return false;
        uint64_t args[6];
        arch_regs_syscall_args(&t->regs, args);
        if (!seize_eintr_restartable(arch_regs_syscall_nr(&t->regs), args))
                return false;

        /* Any signal that the thread will act on (a handler, a default action)
         * may be what ended the wait, or would have ended it anyway: the
         * program must see that EINTR.  Only ignored signals and our own
         * interrupt leave the wait's end to us.  The thread is stopped, so its
         * masks hold still while we read them. */
        char path[64];
        _cleanup_free_ char *text = NULL;
        uint64_t pending = 0, shared = 0, blocked = 0, ignored = 0, caught = 0;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int) pid, (int) t->tid);
        if (read_full_file(path, &text) < 0 ||
            procfs_parse_status_mask(text, "SigPnd", &pending) < 0 ||
            procfs_parse_status_mask(text, "ShdPnd", &shared) < 0 ||
            procfs_parse_status_mask(text, "SigBlk", &blocked) < 0 ||
            procfs_parse_status_mask(text, "SigIgn", &ignored) < 0 ||
            procfs_parse_status_mask(text, "SigCgt", &caught) < 0)
                return false;
        if (t->pending_signal && !signal_ignored(t->pending_signal, ignored, caught))
                return false;
        uint64_t deliverable = (pending | shared) & ~blocked;
        for (int sig = 1; sig <= 64; sig++)
                if ((deliverable & (UINT64_C(1) << (sig - 1))) && !signal_ignored(sig, ignored, caught))
                        return false;
        return true;
}

/* Our interrupt made an indefinite wait that the kernel never restarts
 * return -EINTR: make the thread enter it again, so that the program never
 * sees an error it would not have had without us.  Whether the thread was
 * asleep or just entering the wait when we came makes no difference (the
 * /proc state read before the stop cannot tell); a signal it will act on
 * does. */
void seize_undo_eintr(pid_t pid, struct thread_capture *t)
{
        if (t->rewound || !seize_eintr_was_ours(pid, t))
                return;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (arch_regs_pc(&t->regs) - sizeof insn), sizeof insn };
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn)
                return;
        arch_regs regs = t->regs;
        if (!arch_regs_rewind_syscall(&regs, insn))
                return;         /* not just after a syscall instruction */
        /* Not the rewind itself: -ERESTARTNOHAND in the return register,
         * the pc left after the syscall, and the kernel decides when the
         * thread resumes, in the same arch_do_signal_or_restart() that our
         * stop is taken in: a signal with a handler (one that arrives
         * while we hold the thread, even after this) ends the call with
         * EINTR and runs the handler, as without us (handle_signal()); no
         * handler, or an ignored signal, and the kernel re-enters the
         * call (pc back over the instruction, the number restored).  A
         * rewind of ours made the call re-enter even when a handler ran,
         * so the program missed its EINTR. */
        regs = t->regs;
        arch_regs_restart_unless_handled(&regs);
        if (arch_set_regs(t->tid, &regs) == 0)
                t->rewound = true;      /* t->regs keep the state as we found it */
}

void seize_release_thread(struct process_capture *cap, struct thread_capture *t)
{
        if (!t->seized || t->vanished)
                return;
        if (!t->stopped) {
                /* Never stopped (uninterruptible sleep): one last look; if it
                 * still has not stopped, the kernel lets it go when we exit,
                 * since PTRACE_DETACH needs a stopped tracee. */
                int status;
                if (seize_wait_status(t->tid, &status) != t->tid ||
                    !seize_note_status(t, status) || t->vanished)
                        return;
        }
        seize_undo_eintr(cap->pid, t);
        (void) ptrace(PTRACE_DETACH, t->tid, 0, (void *) (long) t->pending_signal);
        t->stopped = false;
        t->seized = false;
        if (t->was_stopped && !t->has_stopped_us) {
                t->has_stopped_us = true;
                t->stopped_us = now_usec(CLOCK_MONOTONIC) - t->stop_seen_us;
        }
}

void seize_release(struct process_capture *cap)
{
        /* The main thread first: once it is untraced, an ignored signal sent
         * to the process is thrown away again rather than queued to wake
         * the threads we let go after it (see seize_new_threads).  /proc
         * lists it first, so it is threads[0] when it was seized. */
        struct thread_capture *leader = process_capture_find(cap, cap->pid);
        if (leader)
                seize_release_thread(cap, leader);
        for (size_t i = 0; i < cap->n_threads; i++)
                seize_release_thread(cap, &cap->threads[i]);
        cap->stop_end_us = now_usec(CLOCK_MONOTONIC);
        if (cap->nice_saved) {
                cap->nice_saved = false;
                (void) setpriority(PRIO_PROCESS, 0, cap->saved_nice);
        }
        if (cap->sigmask_saved) {
                cap->sigmask_saved = false;
                (void) pthread_sigmask(SIG_SETMASK, &cap->saved_sigmask, NULL);
        }
}
