/* Thread-creation tracking for --watch; see track.h.
 *
 * The tracing is done by a thread of leakscan's own (the tracer), never by
 * the main thread: ptrace ties a tracee to the thread that seized it, and
 * when that thread exits the kernel detaches every tracee without stopping
 * it (exit_ptrace), which PTRACE_DETACH cannot do (it needs a stopped
 * tracee).  So before each snapshot the tracer ends, and the threads asleep
 * in a call are left in it, untouched, for the snapshot to read without a
 * stop; an interrupt to detach them ended a socket timeout, a timed wait or
 * a partial write as any stop does (docs/RELIABILITY.md).  Except the
 * threads that its exit would leave exposed to a signal the process
 * ignores (track_release_exposed): those it detaches itself first.  While
 * it traces, ^C, SIGTERM, ^Z and the like wait (track_start): killed or
 * stopped in the middle of a release, leakscan would leave an EINTR or a
 * frozen thread behind; they act once the tracer has let everything go.
 *
 * A Python thread's creator stack is mostly CPython's eval loop: the
 * Python frames that say which code started the thread are on the
 * interpreter's heap and may be gone by the next snapshot.  They are read
 * while the creator waits in its clone event, as the at-exit path does
 * (src/exit/creators.c), through a reader opened when the tracer starts,
 * only for a process whose maps show a python module. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "modules.h"
#include "python.h"
#include "procfs.h"
#include "seize.h"
#include "syscalls.h"
#include "track.h"
#include "util.h"

struct tracked {
        pid_t tid;
        bool started;           /* its birth stop seen (or it existed before us) */
        bool releasing;         /* interrupted, to be detached at its stop */
        bool seen_in_call;      /* track_release_exposed saw it asleep in a call
                                 * a stop would change (a write, a read...) */
        bool told;              /* its creator's clone event was served, or it
                                 * was there before us */
        bool ended;             /* it ended before its creator's clone event
                                 * was served (track_clone_event) */
};

struct creation {
        pid_t tid;              /* the thread created; 0: a free slot */
        struct thread_capture creator;
        struct python_stack *python;    /* its Python frames, or NULL */
};

/* The creator copies (a window of stack each, 16 KiB by default) of the
 * threads alive now, in an open-addressed table keyed by TID: a process
 * that creates and ends threads all day keeps as many copies as it has
 * threads, and finding one costs the same at 10 or 10,000. */
struct creations {
        struct creation *slots;
        size_t cap;             /* a power of two, or 0 */
        size_t n;
};

struct track {
        pid_t pid;
        size_t window;
        struct tracked *threads;
        size_t n_threads;
        struct creations creations;
        struct python_snapshot *py;     /* the interpreter's reader, or NULL */
        sigset_t old_mask;      /* the caller's, while the tracer runs */
        sigset_t deferred;      /* the signals that wait for track_stop (track_start) */
        pthread_t tracer;
        pid_t tracer_tid;       /* written by the tracer, read after the join */
        pid_t caller_tid;       /* the thread that started the tracer */
        bool running;
        atomic_bool stop_requested;
};

static size_t creation_slot(const struct creations *c, pid_t tid)
{
        /* Fibonacci hashing: consecutive TIDs spread over the table */
        return (size_t) (((uint32_t) tid * 2654435769u) >> 7) & (c->cap - 1);
}

static struct creation *creation_find(const struct creations *c, pid_t tid)
{
        if (c->cap == 0)
                return NULL;
        for (size_t i = creation_slot(c, tid); c->slots[i].tid; i = (i + 1) & (c->cap - 1))
                if (c->slots[i].tid == tid)
                        return &c->slots[i];
        return NULL;
}

/* Forgets the creator of tid (it ended, or its TID is taken again).
 * Backward-shift deletion: no tombstones, so lookups stay short. */
static void creation_forget(struct creations *c, pid_t tid)
{
        struct creation *x = creation_find(c, tid);
        if (!x)
                return;
        free(x->creator.stack);
        python_stack_free(x->python);
        size_t hole = (size_t) (x - c->slots), mask = c->cap - 1;
        for (size_t i = (hole + 1) & mask; c->slots[i].tid; i = (i + 1) & mask) {
                size_t home = creation_slot(c, c->slots[i].tid);
                /* moves back unless its home lies cyclically in (hole, i] */
                if (((i - home) & mask) >= ((i - hole) & mask)) {
                        c->slots[hole] = c->slots[i];
                        hole = i;
                }
        }
        c->slots[hole].tid = 0;
        c->n--;
}

/* Adds (or replaces) the creator of tid; takes x.creator.stack and
 * x.python.  Returns 0 or -ENOMEM (both freed). */
static int creation_put(struct creations *c, struct creation x)
{
        creation_forget(c, x.tid);
        if ((c->n + 1) * 2 > c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 64;
                struct creation *slots = calloc(cap, sizeof *slots);
                if (!slots) {
                        free(x.creator.stack);
                        python_stack_free(x.python);
                        return -ENOMEM;
                }
                struct creations grown = { slots, cap, 0 };
                for (size_t i = 0; i < c->cap; i++)
                        if (c->slots[i].tid) {
                                size_t k = creation_slot(&grown, c->slots[i].tid);
                                while (slots[k].tid)
                                        k = (k + 1) & (cap - 1);
                                slots[k] = c->slots[i];
                                grown.n++;
                        }
                free(c->slots);
                *c = grown;
        }
        size_t k = creation_slot(c, x.tid);
        while (c->slots[k].tid)
                k = (k + 1) & (c->cap - 1);
        c->slots[k] = x;
        c->n++;
        return 0;
}

/* Forgets the creators of threads not in tids (sorted): they ended while
 * we did not watch (during a snapshot, or before track_start). */
static void creations_keep_only(struct creations *c, const pid_t *tids, size_t n)
{
        for (size_t i = 0; i < c->cap; ) {
                pid_t tid = c->slots[i].tid;
                bool alive = false;
                for (size_t lo = 0, hi = n; !alive && lo < hi; ) {
                        size_t mid = lo + (hi - lo) / 2;
                        alive = tids[mid] == tid;
                        if (tids[mid] < tid)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (tid && !alive)
                        creation_forget(c, tid);        /* slot i may hold another now */
                else
                        i++;
        }
}

struct track *track_new(pid_t pid, size_t creator_window)
{
        struct track *tr = calloc(1, sizeof *tr);
        if (tr) {
                tr->pid = pid;
                tr->window = creator_window;
        }
        return tr;
}

static struct tracked *find(struct track *tr, pid_t tid)
{
        for (size_t i = 0; i < tr->n_threads; i++)
                if (tr->threads[i].tid == tid)
                        return &tr->threads[i];
        return NULL;
}

static struct tracked *add(struct track *tr, pid_t tid, bool started)
{
        struct tracked *t = find(tr, tid);
        if (t)
                return t;
        struct tracked *n = realloc(tr->threads, (tr->n_threads + 1) * sizeof *n);
        if (!n)
                return NULL;
        tr->threads = n;
        t = &n[tr->n_threads++];
        *t = (struct tracked) { .tid = tid, .started = started, .told = started };
        return t;
}

static void drop(struct track *tr, pid_t tid)
{
        struct tracked *t = find(tr, tid);
        if (t)
                *t = tr->threads[--tr->n_threads];
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* In the tracer: seizes every thread but the main one.  Returns 0 or a
 * negative errno. */
static int track_seize_all(struct track *tr)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        int r = procfs_list_tasks(tr->pid, &tids, &n);
        if (r < 0)
                return r;
        qsort(tids, n, sizeof *tids, cmp_pid);
        creations_keep_only(&tr->creations, tids, n);
        for (size_t i = 0; i < n; i++) {
                /* Not the main thread: a signal sent to the process is
                 * checked against it alone, and one the process ignores is
                 * dropped at once unless the main thread is traced; traced,
                 * it is queued and wakes some other thread, whose
                 * epoll_wait, semop, sigwaitinfo... then returns EINTR,
                 * often with no stop of ours to undo it in (another thread
                 * took the signal).  The price: the threads the main thread
                 * creates between snapshots have no creator stack. */
                if (tids[i] == tr->pid)
                        continue;
                if (ptrace(PTRACE_SEIZE, tids[i], 0, (void *) (long) PTRACE_O_TRACECLONE) < 0)
                        continue;       /* gone, or not ours: its creations go untold */
                if (!add(tr, tids[i], true))
                        return -ENOMEM; /* the tracer's exit lets the others go */
        }
        return 0;
}

/* The creator copy: registers and stack of a thread stopped at its clone
 * event.  glibc's clone wrappers have no unwind information after the
 * syscall and push nothing: start the unwind at the return address. */
static void record_creation(struct track *tr, pid_t creator, pid_t child)
{
        struct thread_capture c = { .tid = creator, .syscall_nr = -1 };
        if (arch_get_regs(creator, &c.regs) < 0)
                return;
        c.regs_valid = true;
        c.stack = malloc(tr->window);
        if (!c.stack)
                return;
        c.stack_addr = arch_regs_sp(&c.regs);
        struct iovec local = { c.stack, tr->window };
        struct iovec remote = { (void *) (uintptr_t) c.stack_addr, tr->window };
        ssize_t n = process_vm_readv(creator, &local, 1, &remote, 1, 0);
        c.stack_len = n > 0 ? (size_t) n : 0;
        uint64_t ret_addr;
        if (c.stack_len >= sizeof ret_addr) {
                memcpy(&ret_addr, c.stack, sizeof ret_addr);
                arch_regs_return_to(&c.regs, ret_addr);
        }
        /* its Python frames, while it waits here (out of memory: none) */
        struct python_stack *python = NULL;
        if (tr->py)
                (void) python_stack_read(tr->py, creator, &python);
        (void) creation_put(&tr->creations, (struct creation) { child, c, python });
}

/* Opens the reader of the process's interpreter, once: a process without
 * a python module in its maps costs one read of them per start. */
static void open_python(struct track *tr)
{
        if (!tr->py)
                (void) python_reader_open_pid(tr->pid, &tr->py);        /* none: no Python frames */
}

/* A traced thread is sent even the signals its process ignores (an
 * untraced one never sees them), and one sleeping in an indefinite wait
 * that the kernel never restarts (epoll_wait, semop, sigwaitinfo...)
 * comes back from it with -EINTR before its signal-delivery stop (sig).
 * Re-enter the wait, as
 * seize does after its own interrupt, so that watching changes nothing for
 * the program. */
static void track_undo_eintr(struct track *tr, pid_t tid, int sig)
{
        struct thread_capture c = { .tid = tid, .pending_signal = sig };
        if (arch_get_regs(tid, &c.regs) < 0)
                return;
        c.regs_valid = true;
        seize_undo_eintr(tr->pid, &c);
}

/* Reads a wait status of a tracee (id, or any with idtype P_ALL), without
 * blocking.  A signal-delivery-stop is left unreaped (WNOWAIT): until a wait
 * consumes it, the signal stays in the thread's exit code, so if leakscan is
 * killed before it continues the thread with the signal, the kernel's own
 * detach delivers it.  Our PTRACE_CONT(sig) or PTRACE_DETACH(sig) then
 * overwrites the exit code, so the stop is not reported again.  Every other
 * status is reaped: an event or a job-control stop has no signal to lose
 * (and one we leave in PTRACE_LISTEN would be reported for ever), an exit
 * must not linger.  Returns as waitpid. */
static pid_t track_wait(idtype_t idtype, pid_t id, int *status)
{
        siginfo_t si = {0};
        /* __WNOTHREAD: the tracer's own tracees, not the snapshot's */
        if (waitid(idtype, (id_t) id, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL | __WNOTHREAD) < 0)
                return -1;
        if (si.si_pid <= 0)
                return 0;
        /* a ptrace stop's si_status carries the event in its second byte,
         * as the wait status does */
        if (si.si_code == CLD_TRAPPED && (si.si_status >> 8) == 0) {
                *status = (si.si_status << 8) | 0x7f;
                return si.si_pid;
        }
        return waitpid(si.si_pid, status, __WALL | WNOHANG | __WNOTHREAD);
}

/* Whether status is a stop of tracee tid; a tracee that ended is forgotten
 * (with the creation it was making, if any).  One whose creator's clone
 * event is still to be served is kept, marked ended, for that event to
 * find (track_clone_event). */
static bool still_stopped(struct track *tr, pid_t tid, int status)
{
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                struct tracked *t = find(tr, tid);
                if (t && !t->told)
                        t->ended = true;
                else
                        drop(tr, tid);
                creation_forget(&tr->creations, tid);
                return false;
        }
        return WIFSTOPPED(status);
}

/* Serves creator's clone event for thread child.  The kernel offers the
 * newest tracee's stops first (ptrace_link puts it at the head of the
 * tracer's list), so a short-lived thread's birth, run and exit are often
 * all served before its creator's clone event: recording its creator then
 * would keep a copy (16 KiB) for a thread that is gone, for as long as the
 * tracer runs, thousands a second in a process whose pool churns. */
static void track_clone_event(struct track *tr, pid_t creator, pid_t child)
{
        struct tracked *t = find(tr, child);
        if (t && t->ended) {
                drop(tr, child);
                return;
        }
        record_creation(tr, creator, child);
        t = add(tr, child, false);
        if (t)
                t->told = true;
}

/* Handles one wait status of a tracked thread, in the tracer. */
static void on_status(struct track *tr, pid_t tid, int status)
{
        if (!still_stopped(tr, tid, status))
                return;
        struct tracked *t = find(tr, tid);
        if (!t)
                t = add(tr, tid, false);        /* a new thread, before its creator's event */
        else if (t->ended)
                *t = (struct tracked) { .tid = tid };   /* its TID, taken again */
        int event = status >> 16, sig = WSTOPSIG(status);
        int deliver = 0;
        bool listen = false;
        if (t && event != PTRACE_EVENT_STOP)
                t->started = true;
        if (event == PTRACE_EVENT_CLONE) {
                /* add() below may move the array: t is not used after it */
                t = NULL;
                unsigned long msg = 0;
                if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && msg)
                        track_clone_event(tr, tid, (pid_t) msg);
        } else if (event == PTRACE_EVENT_STOP) {
                if (t && !t->started)
                        t->started = true;      /* its birth stop */
                else if (sig != SIGTRAP)
                        listen = true;          /* a job-control stop: stay in it */
                else
                        track_undo_eintr(tr, tid, 0);   /* an interrupt: none is sent now */
        } else if (event == 0) {
                deliver = sig;                  /* a signal for the program */
                track_undo_eintr(tr, tid, sig);
        }
        if (listen) {
                (void) ptrace(PTRACE_LISTEN, tid, 0, 0);
        } else {
                (void) ptrace(PTRACE_CONT, tid, 0, (void *) (long) deliver);
        }
}

/* How long the tracer waits, before it exits, for the threads it
 * interrupted to stop (one in D state is not waited for). */
#define TRACK_RELEASE_WAIT_US 2000000u
/* Passes over the threads still traced before the tracer exits. */
#define TRACK_RELEASE_PASSES 4

enum exposure { TRACK_SAFE, TRACK_EXPOSED, TRACK_RUNNING, TRACK_GONE };

/* Whether thread tid, as /proc shows it now, is exposed to the tracer's
 * exit: asleep in an indefinite wait that any signal ends with -EINTR
 * (epoll_wait, semop, sigwaitinfo...).  While traced it is sent even the
 * signals its process ignores; one that comes after the tracer's last
 * look, or whose stop the thread has not reached when the tracer exits,
 * ends that wait with an EINTR that the kernel's detach (exit_ptrace)
 * leaves to the program.  A thread asleep in any other call (one the
 * kernel restarts, or a timed wait, which a stop would end) is left as it
 * is (TRACK_SAFE; *ret_in_call when a stop would change that call's
 * outcome: syscalls_stop_effect).  A running thread is TRACK_RUNNING:
 * "running" is only runnable, and one in the middle of a write or send
 * that has moved data would return short at a stop. */
static enum exposure track_exposure(pid_t pid, pid_t tid, bool *ret_in_call)
{
        char path[64], text[512];
        struct proc_syscall sc;
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) pid, (int) tid);
        ssize_t n = read_small_file(path, text, sizeof text);
        if (n == -ENOENT || n == -ESRCH)
                return TRACK_GONE;
        if (n <= 0 || procfs_parse_syscall(text, &sc) < 0)
                return TRACK_SAFE;
        if (sc.running)
                return TRACK_RUNNING;
        if (sc.nr >= 0 && syscalls_eintr_restartable(sc.nr, sc.args))
                return TRACK_EXPOSED;
        if (sc.nr >= 0 && syscalls_stop_effect(sc.nr, sc.args, NULL))
                *ret_in_call = true;
        return TRACK_SAFE;
}

/* A test knob: LEAKSCAN_TEST_TRACER_HOLD_FILE=PATH makes the tracer, at
 * the stop of a thread it interrupted to let it go (its EINTR not yet
 * rewound), create PATH and keep the thread there until a signal that
 * ends or stops leakscan (seize_deferred_signals) is pending, for 10 s at
 * most: the robustness test sends SIGTERM exactly inside that window
 * (docs/RELIABILITY.md, "A killed leakscan").  A signal that is not
 * blocked there kills leakscan with the EINTR in place. */
static void release_window_hold(void)
{
        const char *path = secure_getenv("LEAKSCAN_TEST_TRACER_HOLD_FILE");
        if (!path || !*path)
                return;
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0)
                close(fd);
        sigset_t deferred;
        seize_deferred_signals(&deferred);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 10000000u;
        while (now_usec(CLOCK_MONOTONIC) < deadline) {
                sigset_t pending;
                if (sigpending(&pending) < 0)
                        return;
                for (int sig = 1; sig < NSIG; sig++)
                        if (sigismember(&deferred, sig) == 1 && sigismember(&pending, sig) == 1)
                                return;
                struct timespec ts = { 0, 1000 * 1000 };
                (void) nanosleep(&ts, NULL);
        }
}

/* Lets tracee tid go at a stop we interrupted it for (or any stop that
 * came first): a creation is recorded, the EINTR of an indefinite wait is
 * rewound, a signal is handed back, a job-control stop stays in force
 * (PTRACE_DETACH from a group stop leaves the thread stopped).  Once
 * detached, a signal its process ignores is dropped where it is sent. */
static void track_release_at_stop(struct track *tr, pid_t tid, int status)
{
        if (!still_stopped(tr, tid, status))
                return;
        int event = status >> 16, sig = WSTOPSIG(status);
        int deliver = 0;
        if (event == PTRACE_EVENT_CLONE) {
                unsigned long msg = 0;
                if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &msg) == 0 && msg)
                        track_clone_event(tr, tid, (pid_t) msg);
        } else if (event == PTRACE_EVENT_STOP) {
                if (sig == SIGTRAP) {
                        release_window_hold();
                        track_undo_eintr(tr, tid, 0);   /* our interrupt */
                }
        } else if (event == 0) {
                deliver = sig;
                track_undo_eintr(tr, tid, sig);
        }
        (void) ptrace(PTRACE_DETACH, tid, 0, (void *) (long) deliver);
        drop(tr, tid);
}

/* Whether every thread still to be released sleeps in D now (it cannot
 * stop until that sleep ends, which may be never). */
static bool releasing_only_in_d(const struct track *tr)
{
        for (size_t i = 0; i < tr->n_threads; i++) {
                if (!tr->threads[i].releasing)
                        continue;
                char path[64], text[1024];
                struct proc_stat st;
                snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) tr->pid, (int) tr->threads[i].tid);
                if (read_small_file(path, text, sizeof text) <= 0 || procfs_parse_stat(text, &st) < 0)
                        continue;       /* gone: its exit is reported */
                if (st.state != 'D')
                        return false;
        }
        return true;
}

/* Before the tracer exits: every tracee exposed to its exit
 * (track_exposure) is interrupted, and detached at its stop once the
 * EINTR that the interrupt (or a signal) gave its wait is rewound, so
 * that the wait goes on as if nothing happened; its place in the wait
 * queue is all that changes (semop and msgrcv serve their waiters in
 * order).  The others are left to the exit, which detaches them without
 * a stop.  Passes until one finds no exposed or running thread: a thread
 * that was asleep in another call may have woken meanwhile, and a running
 * one is looked at again once the CPU was yielded.  One still running at
 * the last pass is interrupted too (a thread woken from its wait and
 * starved of a CPU is runnable for long on a loaded machine, and would
 * re-enter its wait exposed), unless it was seen asleep in a call that a
 * stop would change: a bulk write alternates between running and asleep
 * in write, and is left to the exit. */
static void track_release_exposed(struct track *tr)
{
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        for (size_t i = 0; i < tr->n_threads; i++)
                tr->threads[i].seen_in_call = false;
        for (int pass = 0; pass < TRACK_RELEASE_PASSES; pass++) {
                size_t releasing = 0, running = 0;
                for (size_t i = 0; i < tr->n_threads; i++) {
                        struct tracked *t = &tr->threads[i];
                        /* a thread not yet at its birth stop has not run:
                         * it is in no call; an ended one is in none */
                        if (!t->started || t->releasing || t->ended)
                                continue;
                        enum exposure e = track_exposure(tr->pid, t->tid, &t->seen_in_call);
                        bool last = pass == TRACK_RELEASE_PASSES - 1;
                        if (e == TRACK_RUNNING && !(last && !t->seen_in_call)) {
                                running++;
                                continue;
                        }
                        if (e != TRACK_EXPOSED && e != TRACK_RUNNING)
                                continue;
                        if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0)
                                continue;       /* gone: its exit is reported */
                        t->releasing = true;
                        releasing++;
                }
                if (releasing == 0 && running == 0)
                        return;
                if (releasing == 0) {
                        (void) sched_yield();
                        continue;
                }
                uint64_t deadline = now_usec(CLOCK_MONOTONIC) + TRACK_RELEASE_WAIT_US;
                for (unsigned tries = 0; releasing > 0; tries++) {
                        int status;
                        pid_t tid = track_wait(P_ALL, 0, &status);
                        if (tid > 0) {
                                struct tracked *t = find(tr, tid);
                                if (t && t->releasing) {
                                        track_release_at_stop(tr, tid, status);
                                        releasing--;
                                } else {
                                        on_status(tr, tid, status);
                                }
                                continue;
                        }
                        if (tid < 0 || now_usec(CLOCK_MONOTONIC) >= deadline ||
                            ((tries & 63) == 63 && releasing_only_in_d(tr)))
                                break;
                        struct timespec ts = { 0, 1000 * 1000 };
                        (void) sigtimedwait(&chld, NULL, &ts);
                }
                for (size_t i = 0; i < tr->n_threads; i++)
                        tr->threads[i].releasing = false;
        }
}

/* A test knob: LEAKSCAN_TEST_TRACER_EXIT_DELAY_US=N makes the tracer
 * sleep N microseconds after its last look at its tracees, before its exit
 * lets them go, as a preemption of the tracer on a loaded machine does:
 * the robustness test widens the window between that look and the
 * kernel's detach with it (docs/RELIABILITY.md, "The window left").  A
 * traced thread is sent even the signals its process ignores, so the
 * window is what the tracer's exit leaves exposed. */
static void exit_window_delay(void)
{
        const char *env = secure_getenv("LEAKSCAN_TEST_TRACER_EXIT_DELAY_US");
        long us = env ? strtol(env, NULL, 10) : 0;
        if (us > 0 && us < 1000000) {
                struct timespec ts = { 0, us * 1000 };
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }
}

/* Passes a deferred signal the tracer took on to the thread that started
 * it, where track_run takes it, or track_stop's unmask lets it act.  Sent
 * to that thread alone, the tracer never takes it back.  The tracer blocks
 * these signals as its caller does (track_start), and one sent to the
 * tracer alone (tgkill) would otherwise wait there until the tracer's end
 * and die with it. */
static void forward_to_caller(const struct track *tr, int sig)
{
        (void) syscall(SYS_tgkill, getpid(), tr->caller_tid, sig);
}

/* The tracer thread: seizes, then serves the events until track_stop asks
 * it to end.  SIGCHLD is blocked in every thread of leakscan while it runs
 * (track_start), so the kernel queues the one each ptrace stop sends rather
 * than dropping it (its default action is to ignore it), and sigwaitinfo
 * here takes it; track_stop's request comes as a SIGCHLD too. */
static void *tracer_main(void *arg)
{
        struct track *tr = arg;
        tr->tracer_tid = gettid();
        sigset_t chld, wake = tr->deferred;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigaddset(&wake, SIGCHLD);
        open_python(tr);        /* before any creator waits for it */
        bool serve = track_seize_all(tr) == 0;
        for (;;) {
                int status;
                pid_t tid;
                while ((tid = track_wait(P_ALL, 0, &status)) > 0)
                        on_status(tr, tid, status);
                /* the last events are served before the exit: a creation
                 * is recorded, a signal's EINTR rewound */
                if (!serve || atomic_load(&tr->stop_requested))
                        break;
                /* a ptrace event or the request (bounded: a lost wake-up
                 * must not leave the tracees unserved) */
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                int sig = sigtimedwait(&wake, NULL, &ts);
                if (sig > 0 && sig != SIGCHLD)
                        forward_to_caller(tr, sig);
        }
        /* Returning ends the thread, and the kernel detaches every tracee
         * it still has, stopped or not: one in an event stop not served
         * yet resumes (its creation goes untold), one in a
         * signal-delivery-stop gets its signal (never reaped: see
         * track_wait). */
        track_release_exposed(tr);
        exit_window_delay();
        struct timespec now = { 0, 0 };
        int sig;
        while ((sig = sigtimedwait(&tr->deferred, NULL, &now)) > 0)
                forward_to_caller(tr, sig);
        return NULL;
}

/* The signals that end or stop leakscan (seize_deferred_signals) and
 * that it neither ignores nor blocks already: an ignored one is dropped
 * where it is sent, as it would be without a tracer (blocked, it would be
 * queued instead and make track_run let the process go for nothing); one
 * the caller blocks stays pending as before (track_run would take it
 * again after each raise). */
static void track_deferred_signals(sigset_t *set)
{
        sigset_t current;
        seize_deferred_signals(set);
        if (pthread_sigmask(SIG_BLOCK, NULL, &current) != 0)
                sigemptyset(&current);
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                if (sigismember(set, sig) != 1)
                        continue;
                if (sigismember(&current, sig) == 1 ||
                    (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN))
                        sigdelset(set, sig);
        }
}

/* Besides SIGCHLD (tracer_main), the signals that end or stop leakscan are
 * blocked in the caller, and so in the tracer, which inherits its mask:
 * signal masks are per thread, and one blocked in the caller alone would
 * be delivered to the tracer, and act there.  Acting at once, they would
 * kill or stop leakscan while the tracer holds a thread between its
 * interrupt and its detach (track_release_exposed), or between a
 * signal-delivery stop and its rewind: the thread's wait would end with
 * the EINTR our stop gave it, or stay frozen for as long as leakscan is
 * stopped.  They wait for track_run (which takes them) or for track_stop
 * (which unblocks them once the tracer is gone). */
int track_start(struct track *tr)
{
        if (tr->running)
                return 0;
        sigset_t blocked;
        track_deferred_signals(&tr->deferred);
        blocked = tr->deferred;
        sigaddset(&blocked, SIGCHLD);
        int r = -pthread_sigmask(SIG_BLOCK, &blocked, &tr->old_mask);
        if (r < 0)
                return r;
        atomic_store(&tr->stop_requested, false);
        tr->n_threads = 0;
        tr->tracer_tid = 0;
        tr->caller_tid = gettid();
        r = -pthread_create(&tr->tracer, NULL, tracer_main, tr);
        if (r < 0) {
                (void) pthread_sigmask(SIG_SETMASK, &tr->old_mask, NULL);
                return r;
        }
        tr->running = true;
        return 0;
}

static void sleep_until(uint64_t until_us)
{
        struct timespec ts = { (time_t) (until_us / 1000000u), (long) (until_us % 1000000u) * 1000 };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

/* A signal that ends or stops leakscan (^C, SIGTERM, ^Z...) is taken here
 * rather than acting in whichever thread it finds: the tracer lets the
 * process go first, as before a snapshot, and only then is the signal
 * raised again, with the caller's mask back, to act as it would have
 * (leakscan dies of it, as an interrupted --watch always did, or stops).
 * One that leaves leakscan running (^Z then fg) starts a new tracer. */
void track_run(struct track *tr, uint64_t until_us)
{
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= until_us)
                        return;
                if (!tr->running) {
                        sleep_until(until_us);
                        return;
                }
                uint64_t left = until_us - now;
                struct timespec ts = { (time_t) (left / 1000000u), (long) (left % 1000000u) * 1000 };
                int sig = sigtimedwait(&tr->deferred, NULL, &ts);
                if (sig <= 0)
                        continue;       /* the time is up, or EINTR */
                track_stop(tr);
                (void) raise(sig);
                (void) track_start(tr);
        }
}

/* Waits until thread tid of leakscan is gone from the kernel's tables.
 * pthread_join returns when the thread has cleared its TID (in exit_mm),
 * before the kernel detaches its tracees (exit_notify); once /proc no
 * longer finds it, that is done and every tracee may be seized again. */
static void wait_thread_gone(pid_t tid)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d", (int) tid);
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + 2000000u;
        for (unsigned tries = 0; now_usec(CLOCK_MONOTONIC) < deadline; tries++) {
                struct stat st;
                if (stat(path, &st) < 0 && errno == ENOENT)
                        return;
                if (tries < 8) {
                        sched_yield();
                } else {
                        struct timespec ts = { 0, 50000 };
                        nanosleep(&ts, NULL);
                }
        }
}

void track_stop(struct track *tr)
{
        if (!tr->running)
                return;
        atomic_store(&tr->stop_requested, true);
        (void) pthread_kill(tr->tracer, SIGCHLD);
        (void) pthread_join(tr->tracer, NULL);
        tr->running = false;
        if (tr->tracer_tid > 0)
                wait_thread_gone(tr->tracer_tid);
        tr->n_threads = 0;
        (void) pthread_sigmask(SIG_SETMASK, &tr->old_mask, NULL);
}

const struct thread_capture *track_creator(const struct track *tr, pid_t tid)
{
        const struct creation *x = creation_find(&tr->creations, tid);
        return x ? &x->creator : NULL;
}

const struct python_stack *track_creator_python(void *userdata, const struct thread_capture *creator)
{
        (void) userdata;
        const struct creation *x = (const struct creation *)
                ((const char *) creator - offsetof(struct creation, creator));
        return x->python;
}

void track_free(struct track *tr)
{
        if (!tr)
                return;
        track_stop(tr);
        for (size_t i = 0; i < tr->creations.cap; i++)
                if (tr->creations.slots[i].tid) {
                        free(tr->creations.slots[i].creator.stack);
                        python_stack_free(tr->creations.slots[i].python);
                }
        free(tr->creations.slots);
        python_snapshot_free(tr->py);
        free(tr->threads);
        free(tr);
}
