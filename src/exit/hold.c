/* The held exit: a thread that called exit_group (or glibc's fallback to
 * exit) waits for our answer while its process is judged, through the grace
 * period's checks, and is released into the very exit_group it made, with
 * its own status, so that the process ends as it would have. */
#include "exit/exit.h"

static pid_t sv_wait_stop(pid_t tid, int *status);

static bool sv_is_held(const struct sv_process *p, pid_t tid)
{
        for (size_t i = 0; i < p->n_holds; i++)
                if (p->holds[i].tid == tid)
                        return true;
        return false;
}

/* A waitpid for tracee tid returned status.  When tid is the program's main
 * thread and status its end, that was the end of the whole program, our
 * child: its own waitpid will never see it now, so the loop is told here
 * (or it would wait for that end for ever). */
void sv_note_reaped(struct supervisor *sv, pid_t tid, int status)
{
        if (tid == sv->main_pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
                sv->main_reaped = true;
                sv->main_reaped_status = status;
        }
}

/* Makes process p call exit_group(code) again, from one of its threads
 * that none of held waits in: the call its exiting thread made was undone by
 * a signal, and that thread now waits in the exit glibc's _exit falls back
 * to, after which glibc halts (SIGSEGV), and another libc may end just that
 * thread.  The thread is stopped with ptrace and resumed at the syscall
 * instruction the exiting thread's exit_group used (syscall_end: the
 * address after it),
 * with exit_group's number and the code in its registers; the filter then
 * asks us about that exit_group, which goes on.  Returns 0, or a negative
 * errno when no thread could be made to (none left, none stops). */
int sv_redo_exit_group(struct supervisor *sv, const struct sv_process *p, uint64_t syscall_end, int code)
{
        pid_t pid = p->pid;
        uint8_t insn[ARCH_SYSCALL_INSN_LEN];
        struct iovec local = { insn, sizeof insn };
        struct iovec remote = { (void *) (uintptr_t) (syscall_end - sizeof insn), sizeof insn };
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof insn || !arch_is_syscall_insn(insn))
                return -ENOEXEC;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) pid);
        DIR *d = opendir(path);
        if (!d)
                return -errno;
        int r = -ESRCH;
        struct dirent *de;
        while (r < 0 && (de = readdir(d))) {
                pid_t tid = (pid_t) atoi(de->d_name);
                if (tid <= 0 || sv_is_held(p, tid) || ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
                        continue;
                int status = 0;
                pid_t w = 0;
                if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0)
                        for (int i = 0; i < 200 && (w = sv_wait_stop(tid, &status)) == 0; i++)
                                usleep(1000);
                if (w == tid)
                        sv_note_reaped(sv, tid, status);
                arch_regs regs;
                if (w != tid || !WIFSTOPPED(status) || arch_get_regs_any(tid, &regs) < 0) {
                        /* a thread that does not stop (uninterruptible
                         * sleep): leave it, another may */
                        if (ptrace(PTRACE_DETACH, tid, 0, 0) < 0 && errno == ESRCH && w != tid)
                                sv_add_lingering(sv, tid);
                        continue;
                }
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                if (arch_set_regs_any(tid, &regs) == 0)
                        r = 0;
                (void) ptrace(PTRACE_DETACH, tid, 0, 0);
        }
        closedir(d);
        return r;
}

/* Takes a ptrace stop of tid, without blocking; an exit is left unreaped
 * (the main thread's is the program's status, which supervise_run waits
 * for).  Returns tid with the status, 0 when it has not stopped, or -1. */
static pid_t sv_wait_stop(pid_t tid, int *status)
{
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t) tid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL) < 0)
                return -1;
        if (si.si_pid != tid)
                return 0;
        if (si.si_code != CLD_TRAPPED && si.si_code != CLD_STOPPED)
                return -1;
        return waitpid(tid, status, __WALL | WNOHANG);
}

/* Parks thread tid, which waits for our answer in exit_group or in the exit
 * that stands in for it, in a ptrace stop: where the wait is interruptible
 * (kernels before 5.19) any signal would undo the call, and libc would then
 * halt; a stopped thread is interrupted by nothing, and the signals that
 * come meanwhile wait for its release.  The stop itself interrupts the call
 * (its notification goes away).  Returns 0 and the signal to deliver on
 * release (one that arrived as we stopped it) in *ret_sig, or a negative
 * errno (not allowed to trace it, or it did not stop). */
static int sv_park(struct supervisor *sv, pid_t tid, int *ret_sig)
{
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
                return -errno;
        int status = 0;
        pid_t w = 0;
        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0)
                for (int i = 0; i < 20000 && (w = sv_wait_stop(tid, &status)) == 0; i++)
                        usleep(10);
        if (w == tid)
                sv_note_reaped(sv, tid, status);
        if (w != tid || !WIFSTOPPED(status)) {
                /* not stopped yet: the stop, when it comes, is reaped and
                 * let go by the main loop */
                if (ptrace(PTRACE_DETACH, tid, 0, 0) < 0 && errno == ESRCH)
                        sv_add_lingering(sv, tid);
                return -ETIMEDOUT;
        }
        *ret_sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
        return 0;
}

/* Releases a parked thread into exit_group(code), made again from the
 * syscall instruction of its own exit_group (syscall_end: the address
 * after it), after the handler of sig if any. */
static void sv_unpark_to_exit_group(pid_t tid, int sig, uint64_t syscall_end, int code)
{
        arch_regs regs;
        if (arch_get_regs_any(tid, &regs) == 0) {
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                (void) arch_set_regs_any(tid, &regs);
        }
        (void) ptrace(PTRACE_DETACH, tid, 0, (void *) (long) sig);
}

/* Holds h where its notification is no longer at the mercy of signals (see
 * sv_park), when the wait is interruptible. */
static void sv_secure_hold(struct supervisor *sv, struct sv_hold *h)
{
        if (sv->killable_wait || h->parked || !h->native || !(h->group_ip || h->exit_ip))
                return;
        int sig = 0;
        if (sv_park(sv, h->tid, &sig) < 0)
                return;
        h->parked = true;
        h->park_sig = sig;
        h->answered = true;     /* the stop ended the notification */
}

/* Lets p's held threads go on.  exit_group continues; a parked thread is
 * resumed into exit_group.  A thread held in the
 * exit that stood in for an interrupted exit_group is left waiting: another
 * thread calls exit_group for it, which ends them all; if none can (it is
 * the last), its exit goes on, which then ends the process with that same
 * status. */
void sv_release_held(struct supervisor *sv, struct sv_process *p)
{
        /* quarantined threads stay stopped: the exit_group kills them where
         * they stand, and sv_q_poll reaps them */
        p->q.released = true;
        for (size_t i = 0; i < p->n_holds; i++) {
                struct sv_hold *h = &p->holds[i];
                if (h->parked) {
                        sv_unpark_to_exit_group(h->tid, h->park_sig, h->group_ip ? h->group_ip : h->exit_ip,
                                                p->exit_code);
                        h->parked = false;
                        continue;
                }
                if (h->answered)
                        continue;
                if (h->in_exit && h->native && !p->exit_redone &&
                    ((p->q.active && sv_q_redo_exit_group(p, h->group_ip ? h->group_ip : h->exit_ip,
                                                          p->exit_code) == 0) ||
                     sv_redo_exit_group(sv, p, h->group_ip ? h->group_ip : h->exit_ip, p->exit_code) == 0)) {
                        p->exit_redone = true;
                        continue;       /* ended by the exit_group */
                }
                sv_respond_continue(sv, h->id);
                h->answered = true;
        }
}

pid_t *sv_held_tids(const struct sv_process *p)
{
        pid_t *tids = calloc(p->n_holds + 1, sizeof *tids);
        for (size_t i = 0; tids && i < p->n_holds; i++)
                tids[i] = p->holds[i].tid;
        return tids;
}

/* Whether some thread of p other than the held ones may still finish by
 * itself: running, or in a wait with a timeout.  Read from /proc without
 * stopping anything. */
static bool sv_others_busy(struct sv_process *p)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        if (procfs_list_tasks(p->pid, &tids, &n) < 0)
                return false;
        /* only threads that could be reported are waited for (a pool
         * thread a rule ignores is not); every one is looked at, since
         * that also notices a sleeper that woke (sv_q_busy) */
        bool busy = false;
        for (size_t i = 0; i < n; i++)
                if (!sv_is_held(p, tids[i]) && sv_q_busy(p, tids[i]) && sv_trap_could_report(p, tids[i]))
                        busy = true;
        return busy;
}

/* One grace check of an exiting process: judge it once nothing can change
 * any more by itself, or the grace period is over. */
int sv_grace_check(struct supervisor *sv, struct sv_process *p, uint64_t now)
{
        if (p->q.active)
                (void) sv_q_poll(sv, p);
        if (now < p->grace_deadline_us && sv_others_busy(p)) {
                p->backoff_us = p->backoff_us ? p->backoff_us * 2 : 1000;
                if (p->backoff_us > 100000)
                        p->backoff_us = 100000;
                p->next_check_us = now + p->backoff_us;
                if (p->next_check_us > p->grace_deadline_us)
                        p->next_check_us = p->grace_deadline_us;
                return 0;
        }
        _cleanup_free_ pid_t *held = sv_held_tids(p);
        int r = held ? sv_judge(sv, p->pid, held, p->n_holds, false) : -ENOMEM;
        struct leakscan_report *rep = sv->report;
        if (rep->n_processes > 0 && rep->processes[rep->n_processes - 1].pid == p->pid) {
                rep->processes[rep->n_processes - 1].has_exit = true;
                rep->processes[rep->n_processes - 1].exit_code = p->exit_code;
        }
        p->phase = SV_JUDGED;
        /* the main process's pid is not given again before we reap it, and
         * --timeout may judge it again if it is still there then */
        if (p->pid != sv->main_pid)
                sv_forget_process(sv, p->pid);
        sv_release_held(sv, p);
        return r;
}

struct sv_process *sv_find_process(struct supervisor *sv, pid_t pid)
{
        for (size_t i = sv->n_procs; i > 0; i--)
                if (sv->procs[i - 1].pid == pid)
                        return &sv->procs[i - 1];
        return NULL;
}

/* Whether judged process p has ended (its pidfd polls readable once the
 * whole process has exited); its pidfd is closed then.  Unknown (no
 * pidfd): false, as before pidfds. */
static bool sv_process_gone(struct sv_process *p)
{
        if (p->pidfd >= 0) {
                struct pollfd pfd = { p->pidfd, POLLIN, 0 };
                if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
                        close(p->pidfd);
                        p->pidfd = -1;
                        p->gone = true;
                }
        }
        return p->gone;
}

static struct sv_hold sv_hold_of(const struct seccomp_notif *n, bool in_exit)
{
        struct sv_hold h = { .id = n->id, .tid = (pid_t) n->pid, .in_exit = in_exit,
                             .native = n->data.arch == ARCH_SECCOMP_NATIVE->audit_arch &&
                                       !((uint32_t) n->data.nr & ARCH_X32_SYSCALL_BIT) };
        if (in_exit)
                h.exit_ip = n->data.instruction_pointer;
        else
                h.group_ip = n->data.instruction_pointer;
        return h;
}

/* Whether ip, where a thread of tgid calls exit, lies in libc's _exit (the
 * fallback after a failed exit_group) rather than where a thread ends
 * alone.  Looked up in the symbol tables once per place and process. */
static bool sv_is_exit_function(struct supervisor *sv, pid_t tgid, uint64_t ip)
{
        for (size_t i = 0; i < sv->n_exit_sites; i++)
                if (sv->exit_sites[i].tgid == tgid && sv->exit_sites[i].ip == ip)
                        return sv->exit_sites[i].in_exit_fn;
        bool in_exit_fn = false;
        char path[64];
        _cleanup_free_ char *maps = NULL;
        struct modules *mods = NULL;
        snprintf(path, sizeof path, "/proc/%d/maps", (int) tgid);
        if (read_full_file(path, &maps) >= 0 && modules_new(tgid, maps, &mods) == 0) {
                struct symbolizer *sym = symbolizer_new(mods, false);
                struct leakscan_frame *frames = NULL;
                size_t n = 0;
                if (sym && symbolize_pc(sym, ip - 1, true, &frames, &n) == 0 && n > 0 && frames[n - 1].function) {
                        const char *f = frames[n - 1].function;
                        in_exit_fn = streq(f, "_exit") || streq(f, "_Exit") || streq(f, "__GI__exit");
                }
                frames_free(frames, n);
                symbolizer_free(sym);
                modules_free(mods);
        }
        struct exit_site *es = realloc(sv->exit_sites, (sv->n_exit_sites + 1) * sizeof *es);
        if (es) {
                sv->exit_sites = es;
                sv->exit_sites[sv->n_exit_sites++] = (struct exit_site) { tgid, ip, in_exit_fn };
        }
        return in_exit_fn;
}

bool thread_of(pid_t pid, pid_t tid)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d", (int) pid, (int) tid);
        return faccessat(AT_FDCWD, path, F_OK, 0) == 0;
}

int sv_thread_process(struct supervisor *sv, pid_t tid, pid_t *ret_tgid)
{
        pid_t tgid = 0;
        int r = tid_tgid(tid, &tgid);
        if (r == -ESRCH) {
                *ret_tgid = 0;
                return 0;
        }
        if (r < 0) {
                /* the program's own threads are told without a descriptor,
                 * while its pid cannot be another process's */
                if (!sv->main_ended && !sv->main_reaped && thread_of(sv->main_pid, tid)) {
                        *ret_tgid = sv->main_pid;
                        return 0;
                }
                if (sv->opts->follow_forks)
                        return r;
                /* not the program's: none of ours */
                *ret_tgid = 0;
                return 0;
        }
        *ret_tgid = tgid == sv->main_pid || sv->opts->follow_forks ? tgid : 0;
        return 0;
}

static unsigned sv_unjudged;

unsigned supervise_unjudged(void)
{
        return sv_unjudged;
}

/* The exit_group of notification n (or, lost, the exit that may stand for
 * an exit_group a signal undid) could not be judged: leakscan failed (err)
 * to tell which process its thread belongs to.  The run's report says so in an entry of its own, named by
 * the thread's id (the process's own pid when its main thread exits), and
 * leakscan exits 3 unless the program failed (supervise_unjudged): a
 * process of the program must never drop out of the report silently.  The
 * caller answers the notification: the exit goes on as directly. */
static void sv_note_unjudged(struct supervisor *sv, const struct seccomp_notif *n, bool lost, int err)
{
        pid_t tid = (pid_t) n->pid;
        sv_unjudged++;
        struct leakscan_process *lp = sv_report_add(sv);
        if (!lp)
                return;         /* counted: leakscan still exits 3 */
        lp->pid = tid;
        inspect_read_identity(lp);      /* the exe needs no descriptor */
        lp->not_inspected = true;
        lp->has_exit = true;
        lp->exit_code = (int) (n->data.args[0] & 0xff);
        char buf[512];
        snprintf(buf, sizeof buf, "its threads could not be checked: leakscan could not tell which process "
                 "thread %d, which called %s, belongs to (reading /proc/%d/status: %s), and let its "
                 "exit go on unjudged; %s", (int) tid,
                 lost ? "exit after a call of its program was undone by a signal (perhaps an exit_group)" :
                 "exit_group", (int) tid, strerror(-err),
                 err == -EMFILE || err == -ENFILE ? "leakscan ran out of file descriptors: raise its limit "
                 "(ulimit -n before starting it) or run fewer processes at once" :
                 err == -ENOMEM ? "leakscan ran out of memory" : "run it again");
        lp->inspect_error = strdup(buf);
}

/* A thread waits in exit_group, or (in_exit) in the exit that libc's _exit
 * made after a signal undid an exit_group we never received. */
int sv_on_exit_group(struct supervisor *sv, const struct seccomp_notif *n, bool in_exit)
{
        pid_t tid = (pid_t) n->pid;
        pid_t tgid = 0;
        /* after --timeout everything is being killed: no process is judged
         * any more, nor reported as unjudged */
        if (sv->result.timed_out) {
                sv_respond_continue(sv, n->id);
                return 0;
        }
        int k = sv_thread_process(sv, tid, &tgid);
        if (k < 0) {
                sv_note_unjudged(sv, n, false, k);
                sv_respond_continue(sv, n->id);
                return 0;
        }
        struct sv_process *p = tgid ? sv_find_process(sv, tgid) : NULL;
        /* Under --follow-forks a long run goes through the pids (32,768 by
         * default, threads included): an exit_group from a judged
         * process's pid after that process ended is another process's
         * (the kernel gave the pid again), not a second exit_group of the
         * judged one, and is judged as itself.  A start time cannot tell
         * them apart: it counts in ticks of 10 ms. */
        if (p && p->phase == SV_JUDGED && sv_process_gone(p))
                p = NULL;
        if (!tgid || (p && p->phase == SV_JUDGED && !in_exit)) {
                sv_respond_continue(sv, n->id);
                return 0;
        }
        if (!p) {
                /* the pidfds of judged processes that have ended since are
                 * closed: a suite of thousands keeps few open */
                for (size_t i = 0; i < sv->n_procs; i++)
                        if (sv->procs[i].phase == SV_JUDGED)
                                (void) sv_process_gone(&sv->procs[i]);
                struct sv_process *np = realloc(sv->procs, (sv->n_procs + 1) * sizeof *np);
                if (!np) {
                        sv_respond_continue(sv, n->id);
                        return -ENOMEM;
                }
                sv->procs = np;
                p = &np[sv->n_procs++];
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                *p = (struct sv_process) {
                        .pid = tgid,
                        .pidfd = (int) syscall(SYS_pidfd_open, tgid, 0),
                        .phase = SV_EXITING,
                        .exit_code = (int) (n->data.args[0] & 0xff),
                        .grace_deadline_us = now + (uint64_t) sv->opts->grace_ms * 1000u,
                        .next_check_us = now,
                };
                /* every other thread stopped before anything else happens */
                struct sv_hold first = sv_hold_of(n, in_exit);
                p->holds = malloc(sizeof *p->holds);
                if (!p->holds) {
                        sv_respond_continue(sv, n->id);
                        return -ENOMEM;
                }
                p->holds[p->n_holds++] = first;
                /* the held exit first: where its wait is interruptible, a
                 * signal could undo it while we stop the others */
                sv_secure_hold(sv, &p->holds[0]);
                sv_q_start(sv, p);
                return 0;
        }
        /* the same thread again: a signal interrupted its exit_group (on a
         * kernel without killable waits, or before we received it) and it
         * called it anew */
        for (size_t i = 0; i < p->n_holds; i++)
                if (p->holds[i].tid == tid) {
                        p->holds[i] = sv_hold_of(n, in_exit);
                        sv_secure_hold(sv, &p->holds[i]);
                        if (p->phase == SV_JUDGED)
                                sv_release_held(sv, p);
                        return 0;
                }
        struct sv_hold *holds = realloc(p->holds, (p->n_holds + 1) * sizeof *holds);
        if (!holds) {
                sv_respond_continue(sv, n->id);
                return -ENOMEM;
        }
        p->holds = holds;
        p->holds[p->n_holds++] = sv_hold_of(n, in_exit);
        sv_secure_hold(sv, &p->holds[p->n_holds - 1]);
        if (p->phase == SV_JUDGED)      /* an exit_group undone after we judged */
                sv_release_held(sv, p);
        return 0;
}

/* Whether held thread tid is still p's: not a thread of a later process
 * given p's pid and its tid.  Out of descriptors, told by p's task entry
 * while p's pidfd says p is there. */
static bool sv_hold_thread_of(struct sv_process *p, pid_t tid)
{
        pid_t tgid;
        int r = tid_tgid(tid, &tgid);
        if (r == 0)
                return tgid == p->pid;
        return r != -ESRCH && thread_of(p->pid, tid) && !sv_process_gone(p);
}

/* A thread waits in exit.  Ordinary thread ends go on at once.  But a
 * thread that called exit_group and waits in exit now had its exit_group
 * undone by a signal (a kernel without killable waits, or a signal that came
 * before we received the notification), and this is glibc's _exit falling
 * back: hold it, and have the exit_group made again on release
 * (sv_release_held).  Returns whether it was held. */
void sv_on_exit(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        for (size_t i = 0; i < sv->n_procs; i++) {
                struct sv_process *p = &sv->procs[i];
                for (size_t j = 0; j < p->n_holds; j++) {
                        struct sv_hold *h = &p->holds[j];
                        if (h->tid != tid || !sv_hold_thread_of(p, tid))
                                continue;
                        /* a thread of a later process given the same
                         * pid and tid: its exit is its own */
                        if (p->phase == SV_JUDGED && sv_process_gone(p))
                                break;
                        if (n->data.arch != ARCH_SECCOMP_NATIVE->audit_arch)
                                break;  /* no exit_group to redo for it */
                        h->id = n->id;
                        h->in_exit = true;
                        h->answered = false;
                        h->exit_ip = n->data.instruction_pointer;
                        sv_secure_hold(sv, h);
                        /* released already, but too late for the exit_group
                         * a signal had just interrupted */
                        if (p->phase == SV_JUDGED)
                                sv_release_held(sv, p);
                        return;
                }
        }
        /* an exit_group that a signal undid before we even received it:
         * a gap in the ids, then an exit from libc's _exit */
        if (sv->n_lost > 0 && n->data.arch == ARCH_SECCOMP_NATIVE->audit_arch) {
                pid_t tgid = 0;
                int k = sv_thread_process(sv, tid, &tgid);
                if (k < 0) {
                        /* whether this exit is _exit's fallback cannot be
                         * told either (that reads the process's maps): a
                         * lost exit_group, perhaps, whose process the
                         * report cannot name.  Said once per lost call, not
                         * for every thread end after it */
                        sv->n_lost--;
                        sv_note_unjudged(sv, n, true, k);
                } else if (tgid && sv_is_exit_function(sv, tgid, n->data.instruction_pointer)) {
                        sv->n_lost--;
                        struct seccomp_notif as_group = *n;
                        if (sv_on_exit_group(sv, &as_group, true) == 0)
                                return;
                }
        }
        sv_respond_continue(sv, n->id);
}

/* A thread tries to enter SECCOMP_MODE_STRICT, which the kernel refuses to a
 * filtered task: the program cannot run as it would without us.  Kill that
 * process and say so, rather than let it go on with a failure it would
 * never see otherwise. */
void sv_on_strict(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid, tgid = 0;
        int r = tid_tgid(tid, &tgid);
        sv->result.strict_seccomp = true;
        /* the pidfd names the process tgid was when it was opened; the
         * notification, still pending after that, proves it was the
         * thread's: its number was not reused in between */
        _cleanup_close_ int pidfd = r == 0 ? (int) syscall(SYS_pidfd_open, tgid, 0) : -1;
        if (pidfd >= 0 && ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) == 0 &&
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
                return;
        /* leakscan could not open what it needs (out of descriptors): the
         * thread, still waiting for our answer, is killed by its id, and
         * SIGKILL ends its whole process.  Only a fatal signal between the
         * check and the kill, and its number given again meanwhile, could
         * make that another thread's */
        if (pidfd < 0 && r != -ESRCH && ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) == 0 &&
            syscall(SYS_tkill, tid, SIGKILL) == 0)
                return;
        sv_respond_continue(sv, n->id);
}
