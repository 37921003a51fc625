/* The quarantine: the other threads of a process whose exit began are
 * stopped and snapshotted at once; those asleep stay stopped, the others
 * run on only under ptrace syscall-stops, so that nothing they do is seen
 * outside the process (see the banner below for the rules).  Kept apart
 * from the held exit itself because it is the part that stops threads. */
#include "exit/exit.h"

/* ---- the quarantine ----
 * When a process begins to exit, its atexit handlers and static destructors
 * have run: a thread that ran on could do what it never could directly
 * (abort on a destroyed object, print after main's last line).  So the
 * moment its exit_group is received, every other thread is seized and
 * interrupted (PTRACE_SEIZE with sv_q_seize_options, PTRACE_INTERRUPT)
 * and the process snapshotted as it stands (preseized): that snapshot
 * decides how each thread is reported.  A thread that was asleep in an
 * indefinite wait stays stopped for good (directly it would die in that
 * wait).  One that was running or in a timed wait runs on through the grace
 * period, only under ptrace syscall-stops: a call that nobody outside the
 * process can observe (syscalls_quiet: waits, sleeps, clocks, its memory,
 * its own end) goes on; any other is held at its entry, never made, and
 * noted; a fault or signal is held at its signal-delivery-stop, never
 * delivered, and noted.  The exit_group, when it goes on, kills the held
 * and stopped ones where they stand.
 *
 * If leakscan dies, the kernel lets its tracees go, and a held thread would
 * make its call after all (a stopped one run on).  So a held or stopped
 * thread is turned into a thread about to call exit_group with the
 * process's own status (once the snapshot has its registers): let go, it
 * ends the process as it would have ended without us (the guardian answers
 * that exit_group), and the held call is still never made. */

/* The ptrace options thread tid of process pid is seized with at its exit.
 * PTRACE_O_TRACEEXIT for the group leader: it must not be our tracee when
 * it becomes a zombie.  The kernel shows a traced zombie to its tracer only
 * (wait_consider_task: "a zombie ptracee is only visible to its
 * ptracer"), yet wakes the process's pidfd and makes it poll readable at
 * once: a parent that polls a pidfd and then reaps with WNOHANG (GLib's
 * child watch) would find nothing until we reaped it, a window a direct
 * run never has (GLib 2.74 then reports status 0).  Stopped at its exit
 * event, before it is a zombie, the leader is let go (sv_q_on_stop, or the
 * loop's lingering tracees) and ends as it would without us.  Any other
 * thread may stay ours: while it is an unreaped zombie the leader is not
 * reapable and its pidfd not readable either, so the parent sees a
 * consistent, only later, end; and each stop at an exit costs the target
 * a wake-up more (a few ms on a loaded machine).  Since Linux 6.1 a thread
 * in that stop waits for us even with SIGKILL pending: the loop takes it
 * at the SIGCHLD that stop sends. */
static long sv_q_seize_options(pid_t pid, pid_t tid, long options)
{
        return tid == pid ? options | PTRACE_O_TRACEEXIT : options;
}

struct sv_qthread *sv_q_find(struct sv_quarantine *q, pid_t tid)
{
        for (size_t i = 0; i < q->n; i++)
                if (q->threads[i].tid == tid)
                        return &q->threads[i];
        return NULL;
}

static struct sv_qthread *sv_q_add(struct sv_quarantine *q, pid_t tid)
{
        if (grow_array(&q->threads, &q->cap, q->n + 1, sizeof *q->threads) < 0)
                return NULL;
        q->threads[q->n] = (struct sv_qthread) { .tid = tid, .state = SVQ_PENDING, .nr = -1, .slept_in = -1,
                                                 .last_call = -1 };
        return &q->threads[q->n++];
}

/* Lets a stopped thread go on to its next syscall-stop. */
static void sv_q_resume(struct sv_qthread *qt)
{
        int sig = qt->sig;
        qt->sig = 0;
        qt->at_entry = false;
        qt->state = SVQ_FREE;
        /* ESRCH: killed meanwhile; its exit is reaped by sv_q_poll */
        (void) ptrace(PTRACE_SYSCALL, qt->tid, 0, (void *) (long) sig);
}

/* Holds a thread stopped at the entry of a call with an effect outside, and
 * makes it, should it ever be let go, call exit_group(code) instead: the
 * same syscall instruction, the call skipped (orig_rax -1) and the pc moved
 * back onto the instruction with exit_group's number. */
void sv_q_hold(struct sv_quarantine *q, struct sv_qthread *qt, bool native, int code)
{
        q->settled = true;
        qt->state = SVQ_HELD;
        qt->exiting = native && qt->nr == ARCH_SECCOMP_NATIVE->exit_group;
        if (!native)
                return;
        arch_regs regs;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (qt->entry_pc - sizeof insn), sizeof insn };
        if (process_vm_readv(qt->tid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn ||
            !arch_is_syscall_insn(insn) || arch_get_regs_any(qt->tid, &regs) < 0)
                return;
        arch_regs_set_syscall(&regs, qt->entry_pc - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                              (uint64_t) code);
        (void) arch_set_regs_any(qt->tid, &regs);
}

/* A syscall-stop of a quarantined thread: at entry, a quiet call goes on
 * and any other is held; at exit, the thread goes on. */
static void sv_q_on_syscall_stop(struct sv_process *p, struct sv_qthread *qt)
{
        struct __ptrace_syscall_info info;
        memset(&info, 0, sizeof info);
        if (ptrace(PTRACE_GET_SYSCALL_INFO, qt->tid, (void *) sizeof info, &info) <= 0 ||
            info.op != PTRACE_SYSCALL_INFO_ENTRY) {
                if (qt->stopping)
                        qt->state = SVQ_STOPPED;
                else
                        sv_q_resume(qt);
                return;
        }
        bool native = info.arch == ARCH_SECCOMP_NATIVE->audit_arch && !(info.entry.nr & ARCH_X32_SYSCALL_BIT);
        qt->at_entry = true;
        qt->nr = (long) info.entry.nr;
        memcpy(qt->args, info.entry.args, sizeof qt->args);
        qt->entry_pc = info.instruction_pointer;
        if (qt->nr != SYS_restart_syscall)
                qt->last_call = qt->nr;
        if (native && syscalls_quiet(qt->nr, qt->args)) {
                qt->slept_in = -1;
                if (qt->stopping)
                        qt->state = SVQ_STOPPED;
                else
                        sv_q_resume(qt);
                return;
        }
        /* the first call after our first stop: the one that stop ended,
         * restarted (or restart_syscall resuming it) */
        qt->restarted = qt->slept_in >= 0 && (qt->nr == qt->slept_in || qt->nr == SYS_restart_syscall);
        qt->slept_in = -1;
        sv_q_hold(&p->q, qt, native, p->exit_code);
}

static void sv_q_arm(struct sv_process *p, struct sv_qthread *qt);

/* Holds a thread in its signal-delivery-stop of sig: the signal is not
 * delivered (a fault's handler or default action, a timer's signal, a
 * kill), and the thread is reported with it.  Should leakscan die, a tracee
 * let go resumes without the signal: so it is made to call exit_group with
 * the process's status, from the exiting thread's syscall instruction. */
static void sv_q_hold_signal(struct sv_process *p, struct sv_qthread *qt, int sig)
{
        siginfo_t si;
        memset(&si, 0, sizeof si);
        p->q.settled = true;
        qt->state = SVQ_HELD;
        qt->held_sig = sig;
        qt->sig = 0;
        if (ptrace(PTRACE_GETSIGINFO, qt->tid, 0, &si) == 0) {
                qt->held_sig_code = si.si_code;
                qt->held_sig_addr = (uint64_t) (uintptr_t) si.si_addr;
        }
        arch_regs regs;
        if (arch_get_regs_any(qt->tid, &regs) == 0)
                qt->held_sig_pc = arch_regs_pc(&regs);
        if (p->q.past_trap)
                sv_q_arm(p, qt);
}

/* Makes a thread we keep stopped for good (held at a signal, or asleep at
 * the trap) call exit_group with the process's status should it ever be let
 * go (leakscan killed), from the exiting thread's syscall instruction: it
 * would otherwise run on from a stop the direct run never had.  Done once
 * the trap snapshot has read its registers. */
static void sv_q_arm(struct sv_process *p, struct sv_qthread *qt)
{
        arch_regs regs;
        if (qt->armed || arch_get_regs_any(qt->tid, &regs) < 0)
                return;
        qt->armed = true;
        const struct sv_hold *h = p->n_holds ? &p->holds[0] : NULL;
        uint64_t end = h && h->native ? (h->group_ip ? h->group_ip : h->exit_ip) : 0;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (end - sizeof insn), sizeof insn };
        if (!end || process_vm_readv(qt->tid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn ||
            !arch_is_syscall_insn(insn))
                return;
        arch_regs_set_syscall(&regs, end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                              (uint64_t) p->exit_code);
        (void) arch_set_regs_any(qt->tid, &regs);
}

/* Whether the registers of a thread our interrupt stopped show it inside
 * an indefinite wait (a -ERESTART* code, or the -EINTR of one the kernel
 * never restarts, with the call still in orig_rax). */
static bool sv_q_stop_ended_wait(const arch_regs *regs)
{
        long nr = arch_regs_blocked_syscall(regs);
        if (nr < 0 && arch_regs_returned_eintr(regs))
                nr = arch_regs_syscall_nr(regs);
        if (nr < 0)
                return false;
        struct classify_input in = { .proc_state = 'S', .syscall_nr = nr };
        arch_regs_syscall_args(regs, in.args);
        struct classify_result cr;
        classify_thread(&in, &cr);
        return cr.verdict == LEAKSCAN_VERDICT_BLOCKED;
}

/* One wait status of a quarantined thread, consumed. */
static void sv_q_on_stop(struct supervisor *sv, struct sv_process *p, struct sv_qthread *qt, int status)
{
        int sig = WSTOPSIG(status), event = status >> 16;
        if (event == PTRACE_EVENT_EXIT) {
                /* the leader's end (the exit_group's SIGKILL, or its own
                 * exit during the grace): let it go before it is a zombie
                 * only we may see (sv_q_seize_options) */
                qt->state = SVQ_GONE;
                qt->ended = !p->q.released;
                p->q.settled = true;
                (void) ptrace(PTRACE_DETACH, qt->tid, 0, 0);
                return;
        }
        if (p->q.released || qt->state == SVQ_HELD)
                return;         /* ending: nothing goes on any more */
        if (event == PTRACE_EVENT_STOP) {
                if (sig != SIGTRAP) {
                        /* a job-control stop: it stays stopped, as it would */
                        qt->group_stop = true;
                        qt->state = SVQ_STOPPED;
                } else if (qt->state == SVQ_PENDING || qt->stopping) {
                        /* our interrupt; an indefinite epoll_wait, semop...
                         * it ended with EINTR is entered again */
                        bool first = qt->state == SVQ_PENDING;
                        qt->state = SVQ_STOPPED;
                        struct thread_capture t = { .tid = qt->tid };
                        if (first && arch_get_regs(qt->tid, &t.regs) == 0) {
                                t.regs_valid = true;
                                /* our stop ended a wait that only another
                                 * thread or process could end: asleep at
                                 * the trap, though /proc showed it running
                                 * just before (it went to sleep meanwhile) */
                                if (!qt->asleep && !p->q.past_trap)
                                        qt->asleep = sv_q_stop_ended_wait(&t.regs);
                                /* one asleep at the trap is never resumed:
                                 * its registers stay as our stop left them,
                                 * which the snapshot reads as that wait */
                                if (!qt->asleep)
                                        seize_undo_eintr(p->pid, &t);
                                qt->slept_in = t.rewound ? arch_regs_syscall_nr(&t.regs) :
                                                           arch_regs_blocked_syscall(&t.regs);
                                if (qt->slept_in >= 0 && qt->slept_in != SYS_restart_syscall)
                                        qt->last_call = qt->slept_in;
                                qt->woken = qt->slept_in >= 0;
                        }
                } else {
                        sv_q_resume(qt);        /* an interrupt a signal overtook */
                }
                return;
        }
        if (event) {
                if (qt->stopping)
                        qt->state = SVQ_STOPPED;
                else
                        sv_q_resume(qt);
                return;
        }
        if (sig == (SIGTRAP | 0x80)) {
                sv_q_on_syscall_stop(p, qt);
                return;
        }
        /* a signal-delivery-stop: a fault, or a signal sent after the exit
         * began.  Directly the exit_group would have killed the thread
         * first: held at the signal, never delivered */
        sv_q_hold_signal(p, qt, sig);
        (void) sv;
}

/* Takes the wait status thread qt of p has now, if any.  An exit is reaped
 * (a traced thread's zombie is ours to reap), but not the main thread's:
 * that is the program's end, which supervise_run waits for.  Returns
 * whether a status came. */
static bool sv_q_poll_one(struct supervisor *sv, struct sv_process *p, struct sv_qthread *qt)
{
        if (qt->state == SVQ_GONE)
                return false;
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) qt->tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) < 0) {
                if (errno == ECHILD)
                        qt->state = SVQ_GONE;
                return false;
        }
        if (si.si_pid != qt->tid)
                return false;
        if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED) {
                qt->state = SVQ_GONE;
                qt->ended = !p->q.released;
                p->q.settled = true;
                if (qt->tid != sv->main_pid)
                        (void) waitpid(qt->tid, NULL, __WALL | WNOHANG);
                return true;
        }
        int status;
        if (waitpid(qt->tid, &status, __WALL | WNOHANG) == qt->tid && WIFSTOPPED(status))
                sv_q_on_stop(sv, p, qt, status);
        return true;
}

/* Notes when no thread of p is left to stop for the first time. */
static void sv_q_note_stopped(struct sv_process *p)
{
        if (p->q.has_stop_us || !p->q.active)
                return;
        for (size_t i = 0; i < p->q.n; i++)
                if (p->q.threads[i].state == SVQ_PENDING)
                        return;
        p->q.has_stop_us = true;
        p->q.stop_us = now_usec(CLOCK_MONOTONIC) - p->q.begin_us;
}

/* Takes every wait status p's quarantined threads have now (sv_q_poll_one).
 * Returns whether any came. */
bool sv_q_poll(struct supervisor *sv, struct sv_process *p)
{
        bool any = false;
        for (size_t i = 0; i < p->q.n; i++)
                any |= sv_q_poll_one(sv, p, &p->q.threads[i]);
        sv_q_note_stopped(p);
        return any;
}

/* Whether thread tid of p still exists (not a zombie). */
static bool sv_q_thread_exists(pid_t pid, pid_t tid)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_stat st;
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        return read_full_file(path, &text) >= 0 && procfs_parse_stat(text, &st) == 0 &&
               st.state != 'Z' && st.state != 'X';
}

/* Whether a thread that has not stopped yet never will soon: it waits for
 * our answer to its own exit or to a thread creation (the loop answers, or
 * holds it, once we return), or sleeps uninterruptibly. */
static bool sv_q_wont_stop(pid_t pid, pid_t tid)
{
        struct proc_stat st;
        if (inspect_thread_may_finish(pid, tid, &st) < 0)
                return true;
        if (st.state == 'D')
                return true;
        char path[64];
        _cleanup_free_ char *text = NULL;
        struct proc_syscall sc = {0};
        snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) pid, (int) tid);
        if (read_full_file(path, &text) < 0 || procfs_parse_syscall(text, &sc) < 0 || sc.running)
                return false;
        const struct arch_seccomp_abi *abi = ARCH_SECCOMP_NATIVE;
        return sc.nr == abi->exit || sc.nr == abi->exit_group || sc.nr == abi->clone || sc.nr == abi->clone3;
}

static bool sv_q_waiting(const struct sv_qthread *qt)
{
        return qt->state == SVQ_PENDING || (qt->stopping && qt->state == SVQ_FREE);
}

/* Waits, polling, until no thread of p is PENDING or (for the snapshot)
 * FREE, or timeout_ms passed, or the ones left will not stop soon.  First
 * each thread in the order they were interrupted, a little patience each
 * (when one has stopped, those interrupted after it mostly have too: about
 * one wait per thread, as seize.c does), then all the rest in rounds.  It
 * sleeps rather than yields: the loop thread may run at real-time
 * priority, where yielding lets no thread of the target run. */
static void sv_q_wait(struct supervisor *sv, struct sv_process *p, unsigned timeout_ms)
{
        sv_realtime_pause();    /* all interrupted: the main loop takes it back */
        uint64_t start = now_usec(CLOCK_MONOTONIC), deadline = start + (uint64_t) timeout_ms * 1000u;
        unsigned patience = 11;
        for (size_t i = 0; i < p->q.n && patience; i++) {
                struct sv_qthread *qt = &p->q.threads[i];
                for (unsigned tries = 0; sv_q_waiting(qt); tries++) {
                        if (sv_q_poll_one(sv, p, qt))
                                continue;
                        if (tries >= patience) {
                                patience = 0;   /* it will not stop soon: the rest in rounds */
                                break;
                        }
                        struct timespec ts = { 0, 1000L << tries };     /* 1 us ... 1 ms */
                        nanosleep(&ts, NULL);
                }
        }
        sv_q_note_stopped(p);
        uint64_t next_look = now_usec(CLOCK_MONOTONIC) + 5000;
        unsigned idle_us = 10;
        for (;;) {
                bool progress = sv_q_poll(sv, p);
                bool waiting = false;
                for (size_t i = 0; i < p->q.n && !waiting; i++)
                        waiting = sv_q_waiting(&p->q.threads[i]);
                if (!waiting)
                        return;
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return;
                if (now >= next_look) {
                        bool all_stuck = true;
                        for (size_t i = 0; i < p->q.n && all_stuck; i++)
                                if (sv_q_waiting(&p->q.threads[i]))
                                        all_stuck = sv_q_wont_stop(p->pid, p->q.threads[i].tid);
                        if (all_stuck)
                                return;
                        next_look = now + 5000;
                }
                idle_us = progress ? 10 : idle_us < 1000 ? idle_us * 2 : 1000;
                struct timespec ts = { 0, (long) idle_us * 1000 };
                nanosleep(&ts, NULL);
        }
}

/* Traces p's held threads without stopping them, so that a signal sent to
 * the process while its exit is held (an alarm an atexit handler armed)
 * stays pending: the kernel turns a fatal signal into the end of the whole
 * process at once only when its leader is untraced, and a traced thread in
 * a killable wait is woken by nothing but SIGKILL.  The leader must not be
 * ours any more when it ends, though (sv_q_seize_options): it stops at its
 * PTRACE_EVENT_EXIT, where the loop lets it go as a lingering tracee; the
 * others' ends are reaped as lingering tracees'.  Where the wait is interruptible they are parked already
 * (sv_secure_hold). */
static void sv_q_seize_held(struct supervisor *sv, struct sv_process *p)
{
        for (size_t i = 0; sv->killable_wait && i < p->n_holds; i++) {
                struct sv_hold *h = &p->holds[i];
                if (h->parked || h->seized ||
                    ptrace(PTRACE_SEIZE, h->tid, 0, (void *) sv_q_seize_options(p->pid, h->tid, 0)) < 0)
                        continue;
                h->seized = true;
                sv_add_lingering(sv, h->tid);
        }
}

/* Whether thread tid of pid sleeps in an indefinite wait (or
 * uninterruptibly): nothing but another thread, another process or a signal
 * can end it, and the direct run's exit_group kills it there. */
static bool sv_q_asleep(pid_t pid, pid_t tid, struct proc_stat *st)
{
        return inspect_thread_may_finish(pid, tid, st) == 0 && (st->state == 'S' || st->state == 'D');
}

/* Process p begins to exit: seize and interrupt every thread but the held
 * ones, at once, snapshot and judge the process as it stands
 * (sv_judge_trap), then let the ones that were running or in a timed wait
 * run quarantined through the grace period; the others stay stopped.
 * A thread we may not trace (-EPERM: the program made itself non-dumpable;
 * -EBUSY: another tracer) runs on as before, and the report says so. */
void sv_q_start(struct supervisor *sv, struct sv_process *p)
{
        struct sv_quarantine *q = &p->q;
        q->begin_us = now_usec(CLOCK_MONOTONIC);
        sv_q_seize_held(sv, p);
        for (int pass = 0; pass < 10; pass++) {
                _cleanup_free_ pid_t *tids = NULL;
                size_t n = 0, added = 0;
                if (procfs_list_tasks(p->pid, &tids, &n) < 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        bool held = false;
                        for (size_t k = 0; k < p->n_holds; k++)
                                held |= p->holds[k].tid == tids[i];
                        if (held || sv_q_find(q, tids[i]))
                                continue;
                        struct sv_qthread *qt = sv_q_add(q, tids[i]);
                        if (!qt)
                                break;
                        struct proc_stat st;
                        bool asleep = sv_q_asleep(p->pid, qt->tid, &st);
                        if (ptrace(PTRACE_SEIZE, qt->tid, 0,
                                   (void *) sv_q_seize_options(p->pid, qt->tid, PTRACE_O_TRACESYSGOOD)) < 0) {
                                int e = errno;
                                qt->state = SVQ_GONE;
                                if (sv_q_thread_exists(p->pid, qt->tid) && !q->error)
                                        q->error = e == EPERM ? -EPERM : -e;
                                continue;
                        }
                        q->active = true;
                        added++;
                        /* asleep in an indefinite wait: the direct run's
                         * exit_group would kill it there, so it never runs
                         * again.  Our stop ends or disturbs its wait (a
                         * short write, an EINTR, a futex word read again),
                         * but it is never resumed to see that */
                        qt->asleep = asleep;
                        if (ptrace(PTRACE_INTERRUPT, qt->tid, 0, 0) < 0)
                                qt->state = SVQ_GONE;   /* gone already */
                }
                if (added == 0)
                        break;
        }
        if (!q->active)
                return;
        /* a thread that waits for our answer (its own exit) stops only
         * later: the loop takes its stop then (sv_q_wait sees it will not
         * stop soon).  One that is runnable but not scheduled (a loaded
         * machine, a new thread still in its clone trampoline) stops as
         * soon as it runs: waited for as long as any stop, else the
         * snapshot finds it "running" with no registers to read */
        sv_q_wait(sv, p, sv->opts->inspect.stop_timeout_ms);
        /* the snapshot that decides each thread's state is this one;
         * with a grace, the stopped threads go on once it is copied */
        p->no_grace = sv->opts->grace_ms == 0;
        sv_judge_trap(sv, p, sv_q_resume_stopped);
        /* the grace starts now: during the analysis the quarantined
         * threads waited for the loop at their first syscall-stop */
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        p->grace_deadline_us = now + (uint64_t) sv->opts->grace_ms * 1000u;
        p->next_check_us = now;
}

/* Once the trap snapshot is copied: lets the threads that were running or
 * in a timed wait at the trap go on, quarantined; the others stay stopped
 * for good, armed (sv_q_arm).  With no grace, all stay. */
void sv_q_resume_stopped(struct sv_process *p)
{
        p->q.past_trap = true;
        for (size_t i = 0; i < p->q.n; i++) {
                struct sv_qthread *qt = &p->q.threads[i];
                if (qt->state == SVQ_HELD && qt->held_sig)
                        sv_q_arm(p, qt);
                if (qt->state != SVQ_STOPPED || qt->group_stop)
                        continue;
                if (qt->asleep || p->no_grace)
                        sv_q_arm(p, qt);
                else
                        sv_q_resume(qt);
        }
}

/* Stops p's quarantined threads that still run, for the snapshot. */
void sv_q_stop_all(struct supervisor *sv, struct sv_process *p)
{
        for (size_t i = 0; i < p->q.n; i++) {
                struct sv_qthread *qt = &p->q.threads[i];
                if (qt->state != SVQ_FREE && qt->state != SVQ_PENDING)
                        continue;
                qt->stopping = true;
                if (qt->state == SVQ_FREE && ptrace(PTRACE_INTERRUPT, qt->tid, 0, 0) < 0 && errno == ESRCH)
                        qt->state = SVQ_GONE;
        }
        sv_q_wait(sv, p, sv->opts->inspect.stop_timeout_ms);
}

/* Whether a thread not held or quarantined may still end by itself; for
 * quarantined ones, whether they still run free (held and stopped ones are
 * done).  Read from /proc without stopping anything. */
bool sv_q_busy(struct sv_process *p, pid_t tid)
{
        struct sv_qthread *qt = p->q.active ? sv_q_find(&p->q, tid) : NULL;
        if (qt && qt->state != SVQ_FREE && qt->state != SVQ_PENDING)
                return false;
        struct proc_stat st;
        int r = inspect_thread_may_finish(p->pid, tid, &st);
        /* in a syscall-stop between two calls, about to go on */
        return r > 0 || (r == 0 && qt && st.state == 't');
}

/* The call a held thread attempted, in words, with its first three
 * arguments: "write(1, 0x5581c0, 12)".
 * Returns a new string, or NULL without memory. */
char *sv_q_describe_call(const struct sv_qthread *qt)
{
        const char *name = syscalls_name(qt->nr);
        char buf[160], unnamed[32];
        if (!name) {
                snprintf(unnamed, sizeof unnamed, "syscall_%ld", qt->nr);
                name = unnamed;
        }
        int len = snprintf(buf, sizeof buf, "%s(", name);
        for (int k = 0; k < 3 && len > 0 && (size_t) len < sizeof buf; k++) {
                /* small numbers (fds, signals, lengths) in decimal,
                 * addresses in hex */
                int64_t v = (int64_t) qt->args[k];
                if (v > -4096 && v < 65536)
                        len += snprintf(buf + len, sizeof buf - (size_t) len, "%s%" PRId64, k ? ", " : "", v);
                else
                        len += snprintf(buf + len, sizeof buf - (size_t) len, "%s0x%" PRIx64, k ? ", " : "",
                                        qt->args[k]);
        }
        if (len > 0 && (size_t) len < sizeof buf)
                snprintf(buf + len, sizeof buf - (size_t) len, ")");
        return strdup(buf);
}

/* A thread asks to create a thread while its process is quarantined: the
 * clone is held unanswered (the exit_group kills it there), as a call
 * made at its syscall entry would be.  Returns whether it was held. */
bool sv_q_hold_clone(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        for (size_t i = 0; i < sv->n_procs; i++) {
                struct sv_process *p = &sv->procs[i];
                struct sv_qthread *qt = p->phase == SV_EXITING && p->q.active && !p->q.released ?
                        sv_q_find(&p->q, tid) : NULL;
                if (!qt || qt->state == SVQ_GONE || qt->state == SVQ_HELD)
                        continue;
                qt->state = SVQ_HELD;
                qt->in_notif = true;
                p->q.settled = true;
                qt->nr = n->data.nr;
                memcpy(qt->args, n->data.args, sizeof qt->args);
                return true;
        }
        return false;
}

/* Makes process p, whose exiting thread's exit_group a signal undid, call
 * exit_group(code) again from a thread we hold stopped in quarantine (they
 * are our tracees: sv_redo_exit_group cannot seize them).  Returns 0, or a
 * negative errno when none could. */
int sv_q_redo_exit_group(struct sv_process *p, uint64_t syscall_end, int code)
{
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (syscall_end - sizeof insn), sizeof insn };
        if (process_vm_readv(p->pid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn || !arch_is_syscall_insn(insn))
                return -ENOEXEC;
        for (size_t i = 0; i < p->q.n; i++) {
                struct sv_qthread *qt = &p->q.threads[i];
                arch_regs regs;
                if ((qt->state != SVQ_STOPPED && qt->state != SVQ_HELD) || qt->in_notif ||
                    arch_get_regs_any(qt->tid, &regs) < 0)
                        continue;
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                if (arch_set_regs_any(qt->tid, &regs) == 0 && ptrace(PTRACE_DETACH, qt->tid, 0, 0) == 0) {
                        qt->state = SVQ_GONE;
                        return 0;
                }
        }
        return -ESRCH;
}

/* Whether tid is a quarantined thread we still trace. */
bool sv_q_traces(const struct supervisor *sv, pid_t tid)
{
        for (size_t i = 0; i < sv->n_procs; i++) {
                const struct sv_quarantine *q = &sv->procs[i].q;
                for (size_t k = 0; q->active && k < q->n; k++)
                        if (q->threads[k].tid == tid && q->threads[k].state != SVQ_GONE)
                                return true;
        }
        return false;
}
