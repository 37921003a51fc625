/* The --at-exit supervisor's core (see supervise.h, and exit.h for its
 * parts): one event loop over poll() and what it does with each event.
 *
 * The loop waits on the notifications a receiver thread took from the
 * seccomp listener (a thread wants to create a thread, or to exit), a
 * signalfd (SIGCHLD: the program ended; SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1, SIGUSR2: pass them on unless the program's group got them too)
 * and the deadlines (grace re-checks, --timeout).  An exiting thread is held
 * in its exit_group while its process is judged: a grace period with growing
 * back-off while some other thread still runs or waits with a timeout, then
 * a snapshot of the others as -p takes it, then the exit_group goes on and
 * the process ends as it would have.
 *
 * Three helpers keep that transparent: the receiver thread (a held call is
 * safe from signals only once received), a guardian process (answers the
 * filter when leakscan is gone) and a probe process (tells a signal sent to
 * leakscan from one sent to its process group).  Nothing that goes wrong
 * once the program runs is an error of supervise_run: it is said in the
 * report, and the program's status stands. */
#include "exit/exit.h"
#include "model.h"

void supervise_options_init(struct supervise_options *opts)
{
        *opts = (struct supervise_options) {
                .grace_ms = 500,
                .creator_window = 16 * 1024,
        };
        leakscan_options_init(&opts->inspect);
}

static int sv_on_notification(struct supervisor *sv)
{
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (sv->receiver_running) {
                struct sv_queued q;
                ssize_t got = read(sv->queue[0], &q, sizeof q);
                if (got != (ssize_t) sizeof q)
                        return got < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
                /* it forwards only once it stopped answering creations:
                 * make sure it finished the last */
                sv_receiver_clones_off(sv);
                n = q.n;
                sv->n_lost += q.lost_before;
        } else if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
                return errno == ENOENT || errno == EINTR ? 0 : -errno;
        } else {
                if (sv->have_last_id && n.id - sv->last_id > 1 && n.id - sv->last_id < (1u << 30))
                        sv->n_lost += n.id - sv->last_id - 1;
                sv->last_id = n.id;
                sv->have_last_id = true;
        }
        sv_publish_pending(sv, n.id);
        sv_realtime_budget(&sv->loop_busy);
        int r = 0;
        switch (sv_call_of(&n.data)) {
        case SV_CALL_EXIT_GROUP:
                r = sv_on_exit_group(sv, &n, false);
                break;
        case SV_CALL_EXIT:
                sv_on_exit(sv, &n);
                break;
        case SV_CALL_STRICT:
                sv_on_strict(sv, &n);
                break;
        case SV_CALL_CLONE:
        case SV_CALL_CLONE3:
                if (sv_q_hold_clone(sv, &n))
                        break;  /* its process exits: held, never made */
                sv_on_clone(sv, &n);
                sv_respond_continue(sv, n.id);
                break;
        case SV_CALL_OTHER:
                sv_respond_continue(sv, n.id);
                break;
        }
        sv_publish_pending(sv, n.id + 1);
        return r;
}

/* Sends sig to the program's main process: through its pidfd, which can
 * name no other process, or, without one, only while it is our unreaped
 * child (with --follow-forks the loop outlives it: a reaped number may be
 * another process's by then). */
static void sv_kill_main(struct supervisor *sv, int sig)
{
        if (sv->main_pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, sv->main_pidfd, sig, NULL, 0);
        else if (!sv->main_ended && !sv->main_reaped)
                (void) kill(sv->main_pid, sig);
}

/* --timeout: report every thread of the program, then kill it. */
static void sv_on_timeout(struct supervisor *sv)
{
        sv_receiver_clones_off(sv);    /* the creator records are read now */
        sv->result.timed_out = true;
        sv->report->mode = "timeout";
        if (!sv->main_ended) {
                struct sv_process *p = sv_find_process(sv, sv->main_pid);
                _cleanup_free_ pid_t *held = p && p->phase == SV_EXITING ? sv_held_tids(p) : NULL;
                (void) sv_judge(sv, sv->main_pid, held, held ? p->n_holds : 0, true);
        }
        sv_kill_main(sv, SIGKILL);
}

static void sv_on_main_exit(struct supervisor *sv, int status)
{
        sv_receiver_clones_off(sv);    /* it reads main_ended */
        sv->main_ended = true;
        sv->result.exited = WIFEXITED(status);
        sv->result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
        sv->result.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

        struct leakscan_process *lp = NULL;
        for (size_t i = 0; i < sv->report->n_processes; i++)
                if (sv->report->processes[i].pid == sv->main_pid)
                        lp = &sv->report->processes[i];
        if (!lp && !sv->result.timed_out) {
                /* it ended without exit_group: killed by a signal, or its
                 * last thread exited; nothing was left to snapshot */
                lp = sv_report_add(sv);
                if (!lp)
                        return;
                *lp = sv->main_identity;
                sv->main_identity = (struct leakscan_process) {0};
                lp->pid = sv->main_pid;
                lp->not_inspected = true;
        }
        struct sv_process *p = sv_find_process(sv, sv->main_pid);
        if (lp && p && p->phase == SV_EXITING) {
                /* it ended while its exit was held, before its threads
                 * could be stopped: a fatal signal (another thread's abort) */
                p->phase = SV_JUDGED;
                char buf[256];
                if (sv->result.exit_signal)
                        snprintf(buf, sizeof buf, "its threads could not be checked: it was killed by signal %d "
                                 "(%s) during the grace period, while leakscan held its exit",
                                 sv->result.exit_signal, strsignal(sv->result.exit_signal));
                else
                        snprintf(buf, sizeof buf, "its threads could not be checked: it ended during the grace "
                                 "period, while leakscan held its exit");
                free(lp->inspect_error);
                lp->inspect_error = strdup(buf);
        }
        if (lp) {
                lp->has_exit = true;
                lp->exit_code = sv->result.exit_code;
                lp->exit_signal = sv->result.exit_signal;
                if (sv->loop_error && !lp->inspect_error) {
                        lp->inspect_error = sv->loop_error;
                        sv->loop_error = NULL;
                }
        }
}

/* A thread that never stopped for a snapshot is still our tracee: when it
 * stops at last, let it go; when it exits, reap it (until we do, the kernel
 * keeps it, and so its whole process, around). */
static void sv_reap_lingering(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_lingering; ) {
                int status;
                pid_t tid = sv->lingering[i];
                pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
                if (r == tid)
                        sv_note_reaped(sv, tid, status);
                if (r == tid && WIFSTOPPED(status)) {
                        int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
                        (void) ptrace(PTRACE_DETACH, tid, 0, (void *) (long) sig);
                } else if (r == 0) {
                        i++;
                        continue;
                }
                sv->lingering[i] = sv->lingering[--sv->n_lingering];
        }
}

/* Whether the calling thread (the loop, the receiver) runs at real-time
 * priority now, whether it asked for it (sv_realtime), and whether it was
 * found busy (sv_realtime_budget). */
static _Thread_local bool thread_realtime, thread_wants_realtime, thread_busy;

static void sv_apply_realtime(bool realtime)
{
        struct sched_param sp = { .sched_priority = realtime ? 1 : 0 };
        /* the guardian, if started late, must not inherit it */
        if (pthread_setschedparam(pthread_self(), realtime ? SCHED_FIFO | SCHED_RESET_ON_FORK : SCHED_OTHER,
                                  &sp) == 0)
                thread_realtime = realtime;
}

/* The receiver must take a notification the moment it arrives (a held
 * exit is safe from signals only once received), and the loop must stop an
 * exiting process's threads the moment its exit arrives (the quarantine):
 * on a busy machine a thread of ordinary priority can wait tens of
 * milliseconds for a CPU.  So both wait at real-time priority where that is
 * allowed, and drop it for any long work (sv_realtime_pause).  realtime: the
 * priority to take. */
void sv_realtime(bool realtime)
{
        thread_wants_realtime = realtime;
        thread_busy = false;
        sv_apply_realtime(realtime);
}

/* Long work (waiting for an exiting process's threads to stop once they
 * were all interrupted, its snapshot, the analysis) runs at ordinary
 * priority: at real-time priority, waiting for threads that need a CPU to
 * stop could keep both CPUs from them (two leakscans were seen running
 * ~950 ms each at real-time priority, until the kernel's RT throttling),
 * and nothing there is urgent once the threads were interrupted.
 * sv_realtime_resume takes the priority back. */
void sv_realtime_pause(void)
{
        if (thread_realtime)
                sv_apply_realtime(false);
}

/* Back to real-time priority after sv_realtime_pause, if the thread asked
 * for it and is not busy (sv_realtime_budget): before waiting for what
 * comes next. */
void sv_realtime_resume(void)
{
        if (thread_wants_realtime && !thread_realtime && !thread_busy)
                sv_apply_realtime(true);
}

/* The window over which a thread's use of the CPU is measured, and the
 * share of it above which it gives up real-time priority. */
#define BUSY_WINDOW_US 10000
#define BUSY_SHARE_PERCENT 50

/* A thread that wants real-time priority keeps it only while it is not
 * busy: a program that makes threads without pause kept the receiver
 * answering them at real-time priority for good.  The kernel then gives
 * ordinary tasks their share by holding every real-time task on that CPU
 * (RT throttling, the fair server), for up to tens of milliseconds, and
 * another leakscan's receiver queued there missed its program's exit_group
 * (docs/RELIABILITY.md, "The signal-during-exit race").  So, called as
 * each notification arrives: once a window has passed, the thread runs at
 * ordinary priority through the next if it used more than half a CPU in
 * the last, else at real-time priority again.  A clock read per call (the
 * vDSO's), a syscall per window. */
void sv_realtime_budget(struct sv_busy *b)
{
        if (!thread_wants_realtime)
                return;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        if (b->window_start_us && now - b->window_start_us < BUSY_WINDOW_US)
                return;
        uint64_t cpu = now_usec(CLOCK_THREAD_CPUTIME_ID);
        bool busy = b->window_start_us &&
                (cpu - b->cpu_start_us) * 100 > (now - b->window_start_us) * BUSY_SHARE_PERCENT;
        thread_busy = busy;
        if (busy == thread_realtime)
                sv_apply_realtime(!busy);
        b->window_start_us = now;
        b->cpu_start_us = cpu;
}

static void supervisor_free(struct supervisor *sv)
{
        sv_creators_free(sv);
        clone_sites_free(&sv->clone_sites);
        for (size_t i = 0; i < sv->n_procs; i++) {
                free(sv->procs[i].holds);
                if (sv->procs[i].pidfd >= 0)
                        close(sv->procs[i].pidfd);
                free(sv->procs[i].q.threads);
                if (sv->procs[i].q.trap)
                        process_free_contents(sv->procs[i].q.trap);
                free(sv->procs[i].q.trap);
        }
        free(sv->procs);
        free(sv->lingering);
        free(sv->main_identity.exe);
        for (size_t i = 0; i < sv->main_identity.n_cmdline; i++)
                free(sv->main_identity.cmdline[i]);
        free(sv->main_identity.cmdline);
        free(sv->loop_error);
        free(sv->exit_sites);
        if (sv->queue[0] >= 0)
                close(sv->queue[0]);
        if (sv->queue[1] >= 0)
                close(sv->queue[1]);
        if (sv->guardian_pipe >= 0)
                close(sv->guardian_pipe);
        if (sv->guardian)
                munmap(sv->guardian, sizeof *sv->guardian);
        if (sv->listener >= 0)
                close(sv->listener);
        if (sv->main_pidfd >= 0)
                close(sv->main_pidfd);
}

/* The supervision cannot go on (err): let every held thread go, leave the
 * listener to the guardian, and remember why for the report.  The program
 * runs on to its own end. */
static void sv_give_up(struct supervisor *sv, int err)
{
        sv_stop_receiver(sv);
        for (size_t i = 0; i < sv->n_procs; i++)
                sv_release_held(sv, &sv->procs[i]);
        sv_hand_off_listener(sv);
        if (!sv->loop_error) {
                char buf[256];
                snprintf(buf, sizeof buf, "leakscan stopped watching the program early (%s): threads alive "
                         "at its exit could not be checked", strerror(-err));
                sv->loop_error = strdup(buf);
        }
}

/* The signals leakscan passes on: the ones that end or wake a program and
 * that a user or a test runner sends to the command it started. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* Whether the program's main process changed state: its end, or a stop of
 * a lingering tracee of ours, in *status.  While its main thread is
 * quarantined, only its end: its stops are sv_q_poll's. */
static bool sv_wait_main(struct supervisor *sv, int *status)
{
        if (sv_q_traces(sv, sv->main_pid)) {
                siginfo_t si = {0};
                if (waitid(P_PID, (id_t) sv->main_pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) < 0 ||
                    si.si_pid != sv->main_pid || si.si_code == CLD_TRAPPED || si.si_code == CLD_STOPPED)
                        return false;
        }
        return waitpid(sv->main_pid, status, WNOHANG) == sv->main_pid;
}

int supervise_run(char **argv, const struct supervise_options *opts,
                  struct leakscan_report **ret_report, struct supervise_result *ret,
                  enum supervise_step *ret_failed)
{
        struct supervisor sv = { .opts = opts, .listener = -1, .guardian_pipe = -1, .probe_sock = -1, .main_pidfd = -1,
                                 .queue = { -1, -1 }, .receiver_clone_lock = PTHREAD_MUTEX_INITIALIZER,
                                 .receiver_clones_done = true };
        *ret_failed = SUPERVISE_STEP_START;
        sv.report = calloc(1, sizeof *sv.report);
        if (!sv.report)
                return -ENOMEM;
        sv.report->mode = "at-exit";

        /* before the program is spawned: its filter needs the place */
        sv_learn_thread_exit();

        /* SIGCHLD ends the loop; the others are passed on.  Blocked and read
         * from a signalfd; the child gets the mask we were started with. */
        sigset_t loop_set, old_mask;
        sigemptyset(&loop_set);
        sigaddset(&loop_set, SIGCHLD);
        for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
                sigaddset(&loop_set, forwarded_signals[i]);
        sigset_t blocked = loop_set;
        sigaddset(&blocked, SIGURG);    /* the receiver's alone */
        sigprocmask(SIG_BLOCK, &blocked, &old_mask);
        int sfd = signalfd(-1, &loop_set, SFD_CLOEXEC | SFD_NONBLOCK);
        /* the probe first: it must be in the group before the program can
         * run, or signal anyone */
        (void) sv_start_probe(&sv);     /* if not, a simpler rule */
        int r = sfd < 0 ? -errno : spawn(argv, opts->envp, &old_mask, sv_on_listener, &sv, &sv.main_pid,
                                          &sv.listener, &sv.killable_wait, ret_failed);
        if (r < 0)
                goto out;
        sv_sync_wake_up(sv.listener);
        /* our child, not reaped yet: the pidfd names it, never a process
         * that reuses its number once it is reaped (Linux 5.3; without it,
         * only an unreaped main process is signalled) */
        sv.main_pidfd = (int) syscall(SYS_pidfd_open, sv.main_pid, 0);
        /* where the wait is interruptible, only a ptrace stop protects a
         * held call, and the loop must take it at once itself */
        if (sv.killable_wait)
                (void) sv_start_receiver(&sv);  /* if not, the loop receives */
        sv_realtime(true);              /* if allowed: see there */
        sv.main_identity.pid = sv.main_pid;
        inspect_read_identity(&sv.main_identity);

        uint64_t timeout_at = opts->timeout_ms > 0 ?
                now_usec(CLOCK_MONOTONIC) + (uint64_t) opts->timeout_ms * 1000u : 0;
        bool listener_done = false;
        for (;;) {
                if (sv.main_reaped && !sv.main_ended)
                        sv_on_main_exit(&sv, sv.main_reaped_status);
                uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
                bool exiting = false;
                for (size_t i = 0; i < sv.n_procs; i++) {
                        struct sv_process *p = &sv.procs[i];
                        if (p->phase != SV_EXITING)
                                continue;
                        if (now >= p->next_check_us && sv_grace_check(&sv, p, now) < 0)
                                sv_give_up(&sv, -ENOMEM);
                        if (p->phase == SV_EXITING) {
                                exiting = true;
                                if (p->next_check_us < next)
                                        next = p->next_check_us;
                        }
                }
                if (sv.main_ended && !exiting)
                        break;
                if (timeout_at && !sv.result.timed_out) {
                        if (now >= timeout_at)
                                sv_on_timeout(&sv);
                        else if (timeout_at < next)
                                next = timeout_at;
                }

                sv_realtime_resume();
                /* once no process uses the filter, the listener only says
                 * POLLHUP: stop asking it */
                listener_done |= sv.loop_error != NULL;
                int source = sv.receiver_running ? sv.queue[0] : sv.listener;
                struct pollfd pfd[3] = { { listener_done ? -1 : source, POLLIN, 0 }, { sfd, POLLIN, 0 },
                                         { listener_done ? -1 : sv.listener, 0, 0 } };
                int wait_ms = next == UINT64_MAX ? -1 : next <= now ? 0 : (int) ((next - now + 999) / 1000);
                if (poll(pfd, 3, wait_ms) < 0 && errno != EINTR) {
                        /* cannot wait for anything: the program is the
                         * guardian's, and its end ours to wait for */
                        sv_give_up(&sv, -errno);
                        int status;
                        while (waitpid(sv.main_pid, &status, 0) < 0 && errno == EINTR)
                                ;
                        sv_on_main_exit(&sv, status);
                        break;
                }
                if (pfd[0].revents & POLLIN) {
                        int k = sv_on_notification(&sv);
                        if (k < 0)
                                sv_give_up(&sv, k);
                } else if (pfd[2].revents & (POLLHUP | POLLERR)) {
                        listener_done = true;
                }
                if (pfd[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        bool any = false;
                        while (read(sfd, &si, sizeof si) == (ssize_t) sizeof si) {
                                if (sv_should_forward(&sv, &si))
                                        sv_kill_main(&sv, (int) si.ssi_signo);
                                any |= si.ssi_signo != SIGCHLD;
                        }
                        if (any)
                                sv_probe_drain(&sv);
                        sv_reap_lingering(&sv);
                        for (size_t i = 0; i < sv.n_procs; i++) {
                                struct sv_process *p = &sv.procs[i];
                                if (!p->q.active)
                                        continue;
                                (void) sv_q_poll(&sv, p);
                                /* one fewer to wait for: look again now */
                                if (p->q.settled && p->phase == SV_EXITING)
                                        p->next_check_us = now_usec(CLOCK_MONOTONIC);
                                p->q.settled = false;
                        }
                        int status;
                        if (!sv.main_ended && sv_wait_main(&sv, &status)) {
                                if (WIFSTOPPED(status))
                                        /* the main thread was a lingering
                                         * tracee of ours and stopped at last */
                                        (void) ptrace(PTRACE_DETACH, sv.main_pid, 0,
                                                      (void *) (long) ((status >> 16) == 0 ? WSTOPSIG(status) : 0));
                                else
                                        sv_on_main_exit(&sv, status);
                        }
                }
        }
        sv_hand_off_listener(&sv);
        sv_realtime(false);
out:
        if (r < 0 && sv.guardian_pipe >= 0) {
                /* the program never ran: its guardian ends at once */
                close(sv.guardian_pipe);
                sv.guardian_pipe = -1;
                while (waitpid(sv.guardian_helper.pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                sv_helper_reaped(&sv.guardian_helper);
        }
        sv_stop_probe(&sv);
        if (sfd >= 0)
                close(sfd);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        supervisor_free(&sv);
        if (r < 0) {
                leakscan_report_free(sv.report);
                return r;
        }
        *ret = sv.result;
        *ret_report = sv.report;
        return 0;
}
