/* The --at-exit supervisor; see supervise.h.
 *
 * One event loop: every ptrace stop of every traced thread arrives through
 * waitpid(-1, __WALL); signals sent to leakscan and the deadlines (grace
 * re-checks, --timeout) arrive through sigtimedwait with SIGCHLD blocked.
 * A thread that calls exit_group is held in its seccomp stop while the
 * process is judged: a grace period with growing back-off while some other
 * thread still runs or waits with a timeout, then a snapshot of the others
 * (interrupted and continued, never detached), then the exiting thread goes
 * on and the process ends as it would have. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "capture.h"
#include "classify.h"
#include "inspect.h"
#include "procfs.h"
#include "supervise.h"
#include "util.h"

#define SV_PTRACE_OPTIONS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
                           PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)
#define X32_SYSCALL_BIT 0x40000000u
#define I386_EXIT_GROUP 252

struct sv_thread {
        pid_t tid;
        pid_t tgid;             /* 0 until known */
        bool started;           /* its first stop (an auto-attached thread's) seen */
        bool has_creator;
        struct thread_capture creator;  /* the stack that created it */
};

enum sv_phase { SV_RUNNING, SV_EXITING, SV_JUDGED, SV_ENDED };

struct sv_process {
        pid_t pid;
        bool followed;
        struct leakscan_process identity;       /* exe and cmdline, kept from its
                                                 * last exec for when it is gone */
        enum sv_phase phase;
        pid_t *held;            /* threads held at their exit_group */
        size_t n_held;
        uint64_t grace_deadline_us, next_check_us, backoff_us;
};

struct supervisor {
        const struct supervise_options *opts;
        pid_t main_pid;
        struct sv_thread *threads;
        size_t n_threads, cap_threads;
        struct sv_process *procs;
        size_t n_procs, cap_procs;
        struct leakscan_report *report;
        struct supervise_result result;
        bool main_ended;
};

void supervise_options_init(struct supervise_options *opts)
{
        *opts = (struct supervise_options) {
                .grace_ms = 500,
                .creator_window = 16 * 1024,
        };
        leakscan_options_init(&opts->inspect);
}

/* ---- bookkeeping ---- */

static struct sv_thread *sv_thread_find(struct supervisor *sv, pid_t tid)
{
        for (size_t i = 0; i < sv->n_threads; i++)
                if (sv->threads[i].tid == tid)
                        return &sv->threads[i];
        return NULL;
}

static struct sv_thread *sv_thread_add(struct supervisor *sv, pid_t tid, pid_t tgid)
{
        struct sv_thread *t = sv_thread_find(sv, tid);
        if (t) {
                if (tgid)
                        t->tgid = tgid;
                return t;
        }
        if (sv->n_threads == sv->cap_threads) {
                size_t n = sv->cap_threads ? sv->cap_threads * 2 : 64;
                struct sv_thread *nt = realloc(sv->threads, n * sizeof *nt);
                if (!nt)
                        return NULL;
                sv->threads = nt;
                sv->cap_threads = n;
        }
        t = &sv->threads[sv->n_threads++];
        *t = (struct sv_thread) { .tid = tid, .tgid = tgid };
        return t;
}

static void sv_thread_drop_creator(struct sv_thread *t)
{
        if (t->has_creator)
                free(t->creator.stack);
        t->has_creator = false;
}

static void sv_thread_remove(struct supervisor *sv, pid_t tid)
{
        struct sv_thread *t = sv_thread_find(sv, tid);
        if (!t)
                return;
        sv_thread_drop_creator(t);
        *t = sv->threads[--sv->n_threads];
}

static struct sv_process *sv_proc_find(struct supervisor *sv, pid_t pid)
{
        for (size_t i = 0; i < sv->n_procs; i++)
                if (sv->procs[i].pid == pid)
                        return &sv->procs[i];
        return NULL;
}

static struct sv_process *sv_proc_add(struct supervisor *sv, pid_t pid, bool followed)
{
        struct sv_process *p = sv_proc_find(sv, pid);
        if (p)
                return p;
        if (sv->n_procs == sv->cap_procs) {
                size_t n = sv->cap_procs ? sv->cap_procs * 2 : 8;
                struct sv_process *np = realloc(sv->procs, n * sizeof *np);
                if (!np)
                        return NULL;
                sv->procs = np;
                sv->cap_procs = n;
        }
        p = &sv->procs[sv->n_procs++];
        *p = (struct sv_process) { .pid = pid, .followed = followed };
        return p;
}

static void sv_proc_free_identity(struct sv_process *p)
{
        free(p->identity.exe);
        for (size_t i = 0; i < p->identity.n_cmdline; i++)
                free(p->identity.cmdline[i]);
        free(p->identity.cmdline);
        p->identity = (struct leakscan_process) {0};
}

static void sv_proc_read_identity(struct sv_process *p)
{
        if (!p->followed)
                return;
        sv_proc_free_identity(p);
        p->identity.pid = p->pid;
        inspect_read_identity(&p->identity);
}

/* The process a thread belongs to, from /proc when we have not seen its
 * creation yet.  Returns 0 when it is gone. */
static pid_t tid_tgid(pid_t tid)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        long tgid = 0;
        snprintf(path, sizeof path, "/proc/%d/status", (int) tid);
        if (read_full_file(path, &text) < 0 || procfs_parse_status_field(text, "Tgid", &tgid) < 0)
                return 0;
        return (pid_t) tgid;
}

static struct leakscan_process *sv_report_add(struct supervisor *sv)
{
        struct leakscan_report *r = sv->report;
        struct leakscan_process *np = realloc(r->processes, (r->n_processes + 1) * sizeof *np);
        if (!np)
                return NULL;
        r->processes = np;
        struct leakscan_process *p = &np[r->n_processes++];
        *p = (struct leakscan_process) {0};
        return p;
}

/* ---- starting the program ---- */

/* The child's filter: trace exit_group (x86_64, x32 and i386 numbers), allow
 * everything else. */
static int install_exit_group_filter(void)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 6, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, X32_SYSCALL_BIT | SYS_exit_group, 5, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 2),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, I386_EXIT_GROUP, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        };
        struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
        /* Without CAP_SYS_ADMIN a filter needs no_new_privs (which then also
         * stops set-user-ID programs from gaining privileges). */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
                return 0;
        if (errno != EACCES)
                return -errno;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                return -errno;
        return 0;
}

/* Forks the program: the child waits on a pipe until we have seized it,
 * installs the filter and execs.  An exec failure comes back as an errno on a
 * close-on-exec pipe.  Returns the pid, or a negative errno. */
static pid_t spawn_traced(char **argv, char **envp, const sigset_t *child_mask)
{
        int go[2], err[2];
        if (pipe2(go, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                close(go[0]);
                close(go[1]);
                return -errno;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(go[0]); close(go[1]); close(err[0]); close(err[1]);
                return r;
        }
        if (pid == 0) {
                char c;
                close(go[1]);
                close(err[0]);
                sigprocmask(SIG_SETMASK, child_mask, NULL);
                if (read(go[0], &c, 1) != 1)
                        _exit(127);
                int e = install_exit_group_filter();
                if (e == 0) {
                        if (envp)
                                execvpe(argv[0], argv, envp);
                        else
                                execvp(argv[0], argv);
                        e = -errno;
                }
                (void) !write(err[1], &e, sizeof e);
                _exit(127);
        }
        close(go[0]);
        close(err[1]);
        int r = 0;
        if (ptrace(PTRACE_SEIZE, pid, 0, (void *) (long) SV_PTRACE_OPTIONS) < 0)
                r = -errno;
        (void) !write(go[1], "g", 1);
        close(go[1]);
        int child_err = 0;
        ssize_t n;
        do
                n = read(err[0], &child_err, sizeof child_err);
        while (n < 0 && errno == EINTR);
        close(err[0]);
        if (r == 0 && n == (ssize_t) sizeof child_err)
                r = child_err;
        if (r < 0) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                        ;
                return r;
        }
        return pid;
}

/* ---- judging ---- */

bool supervise_leaked_at_exit(const struct leakscan_thread *t, const struct leakscan_thread *threads,
                              size_t n)
{
        if (t->exiting)
                return false;
        if (t->state != LEAKSCAN_STATE_JOIN || !t->has_wait_address)
                return true;
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_thread *x = &threads[i];
                if (!x->exiting)
                        continue;
                if (t->has_futex_value && (pid_t) t->futex_value == x->tid)
                        return false;
                if (x->tls && t->wait_address >= x->tls && t->wait_address < x->tls + 4096)
                        return false;
        }
        return true;
}

static const struct thread_capture *sv_find_creator(void *userdata, pid_t tid)
{
        struct sv_thread *t = sv_thread_find(userdata, tid);
        return t && t->has_creator ? &t->creator : NULL;
}

/* Snapshots process p (its held threads as they are), and adds it to the
 * report.  everything_leaks: the --timeout report, where every thread counts,
 * the main one included. */
static int sv_judge(struct supervisor *sv, struct sv_process *p, bool everything_leaks)
{
        struct leakscan_process *lp = sv_report_add(sv);
        if (!lp)
                return -ENOMEM;
        lp->pid = p->pid;
        inspect_read_identity(lp);

        struct process_capture *cap = NULL;
        int r = inspect_snapshot(p->pid, &sv->opts->inspect, true, p->held, p->n_held, &cap);
        if (r < 0)
                return r;
        lp->n_vanished = cap->n_vanished;
        lp->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        struct creator_lookup creators = { sv_find_creator, sv };
        r = inspect_analyse(cap, &sv->opts->inspect, &creators, lp);
        process_capture_free(cap);
        if (r < 0)
                return r;
        for (size_t i = 0; i < lp->n_threads; i++) {
                struct leakscan_thread *t = &lp->threads[i];
                t->leaked = everything_leaks ? !t->exiting : supervise_leaked_at_exit(t, lp->threads, lp->n_threads);
        }
        return 0;
}

static void sv_release_held(struct sv_process *p)
{
        for (size_t i = 0; i < p->n_held; i++)
                (void) ptrace(PTRACE_CONT, p->held[i], 0, 0);
        free(p->held);
        p->held = NULL;
        p->n_held = 0;
}

/* Whether some thread of p other than the held ones may still finish by
 * itself: running, or in a wait with a timeout.  Read from /proc without
 * stopping anything. */
static bool sv_others_busy(struct sv_process *p, bool *ret_any_other)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) p->pid);
        DIR *d = opendir(path);
        bool busy = false, any = false;
        if (!d)
                return false;
        struct dirent *de;
        while ((de = readdir(d)) && !busy) {
                pid_t tid = (pid_t) atoi(de->d_name);
                if (tid <= 0)
                        continue;
                bool held = false;
                for (size_t i = 0; i < p->n_held; i++)
                        held |= p->held[i] == tid;
                if (held)
                        continue;
                _cleanup_free_ char *stat = NULL, *sc = NULL;
                struct proc_stat st;
                snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) p->pid, (int) tid);
                if (read_full_file(path, &stat) < 0 || procfs_parse_stat(stat, &st) < 0)
                        continue;
                if (st.state == 'Z' || st.state == 'X')
                        continue;
                any = true;
                if (st.state == 'R') {
                        busy = true;
                        break;
                }
                struct proc_syscall psc;
                snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) p->pid, (int) tid);
                if (read_full_file(path, &sc) < 0 || procfs_parse_syscall(sc, &psc) < 0)
                        continue;
                if (psc.running) {
                        busy = true;
                        break;
                }
                struct classify_input in = { .proc_state = st.state, .syscall_nr = psc.nr };
                memcpy(in.args, psc.args, sizeof in.args);
                struct classify_result cr;
                classify_thread(&in, &cr);
                busy = cr.verdict != LEAKSCAN_VERDICT_BLOCKED;
        }
        closedir(d);
        *ret_any_other = any;
        return busy;
}

/* One grace check of an exiting process: judge it once nothing can change
 * any more or the grace period is over. */
static int sv_grace_check(struct supervisor *sv, struct sv_process *p, uint64_t now)
{
        bool any_other = false;
        bool busy = sv_others_busy(p, &any_other);
        if (busy && now < p->grace_deadline_us) {
                p->backoff_us = p->backoff_us ? p->backoff_us * 2 : 1000;
                if (p->backoff_us > 100000)
                        p->backoff_us = 100000;
                p->next_check_us = now + p->backoff_us;
                if (p->next_check_us > p->grace_deadline_us)
                        p->next_check_us = p->grace_deadline_us;
                return 0;
        }
        int r = sv_judge(sv, p, false);
        p->phase = SV_JUDGED;
        sv_release_held(p);
        return r;
}

/* ---- events ---- */

static bool is_stop_signal(int sig)
{
        return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* The flags of the clone a thread stopped at its clone event made. */
static uint64_t clone_flags_of(pid_t tid, const arch_regs *regs)
{
        uint64_t args[6];
        arch_regs_syscall_args(regs, args);
        if ((long) regs->orig_rax == SYS_clone)
                return args[0];
        uint64_t flags = 0;     /* clone3: the first field of struct clone_args */
        struct iovec local = { &flags, sizeof flags };
        struct iovec remote = { (void *) (uintptr_t) args[0], sizeof flags };
        if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != (ssize_t) sizeof flags)
                return CLONE_THREAD;
        return flags;
}

static int sv_on_creation(struct supervisor *sv, struct sv_thread *creator, int event)
{
        unsigned long msg = 0;
        if (ptrace(PTRACE_GETEVENTMSG, creator->tid, 0, &msg) < 0)
                return 0;
        pid_t child = (pid_t) msg;
        if (!creator->tgid)
                creator->tgid = tid_tgid(creator->tid);
        struct sv_process *cp = sv_proc_find(sv, creator->tgid);

        /* A clone event is a thread unless its flags lack CLONE_THREAD (a
         * fork with another exit signal): the registers tell.  The creator's
         * stack is copied only when the new thread may be reported. */
        bool followed_if_thread = cp && cp->followed;
        bool maybe_thread = event == PTRACE_EVENT_CLONE;
        size_t window = (maybe_thread ? followed_if_thread : sv->opts->follow_forks) ? sv->opts->creator_window : 0;
        struct thread_capture cc;
        bool have = capture_creator(creator->tid, creator->tid, window, &cc) == 0;
        bool thread = maybe_thread && (!have || (clone_flags_of(creator->tid, &cc.regs) & CLONE_THREAD));
        /* glibc's clone and clone3 wrappers end their unwind information
         * before the syscall (the child could not use it) and push nothing:
         * the return address into pthread_create is on top of the stack.
         * Start the creator's unwind there. */
        if (have && maybe_thread && cc.stack_len >= 8) {
                uint64_t ret_addr;
                memcpy(&ret_addr, cc.stack, sizeof ret_addr);
                arch_regs_return_to(&cc.regs, ret_addr);
        }
        bool followed = thread ? followed_if_thread : sv->opts->follow_forks;

        struct sv_thread *nt = sv_thread_add(sv, child, thread ? creator->tgid : child);
        struct sv_process *np = thread || !nt ? NULL : sv_proc_add(sv, child, followed);
        if (!nt || (!thread && !np)) {
                if (have)
                        free(cc.stack);
                return -ENOMEM;
        }
        if (np)
                sv_proc_read_identity(np);
        sv_thread_drop_creator(nt);
        if (have && followed && cc.stack_len > 0) {
                nt->creator = cc;
                nt->has_creator = true;
        } else if (have) {
                free(cc.stack);
        }
        return 0;
}

static void sv_on_exec(struct supervisor *sv, struct sv_thread *t)
{
        /* exec ended every other thread of the process and gave the caller
         * the leader's TID */
        pid_t pid = t->tgid ? t->tgid : t->tid;
        for (size_t i = 0; i < sv->n_threads; ) {
                if (sv->threads[i].tgid == pid && sv->threads[i].tid != pid)
                        sv_thread_remove(sv, sv->threads[i].tid);
                else
                        i++;
        }
        struct sv_thread *leader = sv_thread_add(sv, pid, pid);
        if (leader) {
                leader->started = true;
                sv_thread_drop_creator(leader);
        }
        struct sv_process *p = sv_proc_find(sv, pid);
        if (p)
                sv_proc_read_identity(p);
}

static int sv_on_exit_group(struct supervisor *sv, struct sv_thread *t)
{
        struct sv_process *p = sv_proc_find(sv, t->tgid);
        if (!p || !p->followed || p->phase == SV_JUDGED || p->phase == SV_ENDED) {
                (void) ptrace(PTRACE_CONT, t->tid, 0, 0);
                return 0;
        }
        pid_t *held = realloc(p->held, (p->n_held + 1) * sizeof *held);
        if (!held) {
                (void) ptrace(PTRACE_CONT, t->tid, 0, 0);
                return -ENOMEM;
        }
        p->held = held;
        p->held[p->n_held++] = t->tid;
        if (p->phase == SV_RUNNING) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                p->phase = SV_EXITING;
                p->grace_deadline_us = now + (uint64_t) sv->opts->grace_ms * 1000u;
                p->next_check_us = now;
                p->backoff_us = 0;
        }
        return 0;
}

static void sv_on_gone(struct supervisor *sv, pid_t tid, int status)
{
        struct sv_thread *t = sv_thread_find(sv, tid);
        pid_t tgid = t ? t->tgid : 0;
        sv_thread_remove(sv, tid);
        struct sv_process *p = sv_proc_find(sv, tid);
        if (!p && tgid == tid)
                p = sv_proc_find(sv, tgid);
        if (!p)
                return;         /* a thread, not a process leader */
        bool judged = p->phase == SV_JUDGED;
        p->phase = SV_ENDED;
        free(p->held);
        p->held = NULL;
        p->n_held = 0;
        struct leakscan_process *lp = NULL;
        for (size_t i = 0; i < sv->report->n_processes; i++)
                if (sv->report->processes[i].pid == p->pid && !sv->report->processes[i].has_exit)
                        lp = &sv->report->processes[i];
        if (!lp && p->followed && !judged && !sv->result.timed_out) {
                /* ended without exit_group: killed by a signal, or its last
                 * thread exited; nothing was left to snapshot */
                lp = sv_report_add(sv);
                if (lp) {
                        *lp = p->identity;
                        p->identity = (struct leakscan_process) {0};
                        lp->pid = p->pid;
                        lp->not_inspected = true;
                }
        }
        if (lp) {
                lp->has_exit = true;
                lp->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
                lp->exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        if (p->pid == sv->main_pid) {
                sv->main_ended = true;
                sv->result.exited = WIFEXITED(status);
                sv->result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
                sv->result.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
}

static int sv_on_status(struct supervisor *sv, pid_t tid, int status)
{
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
                sv_on_gone(sv, tid, status);
                return 0;
        }
        if (!WIFSTOPPED(status))
                return 0;

        int event = status >> 16, sig = WSTOPSIG(status);
        struct sv_thread *t = sv_thread_find(sv, tid);
        if (!t) {
                /* a new thread or process whose creator's event has not
                 * come yet; that event will say which process it is in */
                t = sv_thread_add(sv, tid, 0);
                if (!t)
                        return -ENOMEM;
        }
        if (!t->started) {
                /* an auto-attached thread starts in a stop of its own */
                t->started = true;
                if (event == PTRACE_EVENT_STOP) {
                        (void) ptrace(PTRACE_CONT, tid, 0, 0);
                        return 0;
                }
        }

        int r = 0;
        switch (event) {
        case PTRACE_EVENT_CLONE:
        case PTRACE_EVENT_FORK:
        case PTRACE_EVENT_VFORK:
                r = sv_on_creation(sv, t, event);
                (void) ptrace(PTRACE_CONT, tid, 0, 0);
                return r;
        case PTRACE_EVENT_EXEC:
                if (!t->tgid)
                        t->tgid = tid_tgid(tid);
                sv_on_exec(sv, t);
                (void) ptrace(PTRACE_CONT, tid, 0, 0);
                return 0;
        case PTRACE_EVENT_SECCOMP:
                if (!t->tgid)
                        t->tgid = tid_tgid(tid);
                return sv_on_exit_group(sv, t);
        case PTRACE_EVENT_STOP:
                if (sig == SIGTRAP || !is_stop_signal(sig)) {
                        /* an interrupt of ours, delivered after the snapshot
                         * that asked for it, or a new thread's first stop */
                        (void) ptrace(PTRACE_CONT, tid, 0, 0);
                } else {
                        /* a job-control stop: stay stopped, but let the
                         * kernel tell us when SIGCONT comes */
                        (void) ptrace(PTRACE_LISTEN, tid, 0, 0);
                }
                return 0;
        case 0:
                /* a signal for the program: deliver it unchanged */
                (void) ptrace(PTRACE_CONT, tid, 0, (void *) (long) sig);
                return 0;
        default:
                (void) ptrace(PTRACE_CONT, tid, 0, 0);
                return 0;
        }
}

/* --timeout: every followed process still alive is reported with all its
 * threads, then everything is killed. */
static void sv_on_timeout(struct supervisor *sv)
{
        sv->result.timed_out = true;
        sv->report->mode = "timeout";
        for (size_t i = 0; i < sv->n_procs; i++) {
                struct sv_process *p = &sv->procs[i];
                if (!p->followed || p->phase == SV_ENDED || p->phase == SV_JUDGED)
                        continue;
                (void) sv_judge(sv, p, true);
                p->phase = SV_JUDGED;
        }
        for (size_t i = 0; i < sv->n_procs; i++)
                if (sv->procs[i].phase != SV_ENDED)
                        kill(sv->procs[i].pid, SIGKILL);
}

static bool sv_anything_left(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_procs; i++)
                if (sv->procs[i].phase != SV_ENDED)
                        return true;
        return false;
}

static void supervisor_free(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_threads; i++)
                sv_thread_drop_creator(&sv->threads[i]);
        free(sv->threads);
        for (size_t i = 0; i < sv->n_procs; i++) {
                free(sv->procs[i].held);
                sv_proc_free_identity(&sv->procs[i]);
        }
        free(sv->procs);
}

int supervise_run(char **argv, const struct supervise_options *opts,
                  struct leakscan_report **ret_report, struct supervise_result *ret)
{
        struct supervisor sv = { .opts = opts };
        sv.report = calloc(1, sizeof *sv.report);
        if (!sv.report)
                return -ENOMEM;
        sv.report->mode = "at-exit";

        /* SIGCHLD wakes the loop; SIGINT, SIGTERM and SIGHUP are forwarded.
         * All blocked here and read with sigtimedwait; the child gets the
         * mask we were started with. */
        sigset_t loop_set, old_mask;
        sigemptyset(&loop_set);
        sigaddset(&loop_set, SIGCHLD);
        sigaddset(&loop_set, SIGINT);
        sigaddset(&loop_set, SIGTERM);
        sigaddset(&loop_set, SIGHUP);
        sigprocmask(SIG_BLOCK, &loop_set, &old_mask);

        int r = 0;
        pid_t pid = spawn_traced(argv, opts->envp, &old_mask);
        if (pid < 0) {
                r = pid;
                goto out;
        }
        sv.main_pid = pid;
        struct sv_thread *main_thread = sv_thread_add(&sv, pid, pid);
        if (!main_thread || !sv_proc_add(&sv, pid, true)) {
                r = -ENOMEM;
                kill(pid, SIGKILL);
        } else {
                main_thread->started = true;    /* seized, not auto-attached */
        }
        uint64_t timeout_at = opts->timeout_ms > 0 ?
                now_usec(CLOCK_MONOTONIC) + (uint64_t) opts->timeout_ms * 1000u : 0;

        while (sv_anything_left(&sv)) {
                int status;
                pid_t tid;
                while ((tid = waitpid(-1, &status, __WALL | WNOHANG)) > 0) {
                        int k = sv_on_status(&sv, tid, status);
                        if (k < 0 && r == 0)
                                r = k;
                }
                if (tid < 0 && errno == ECHILD)
                        break;

                uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
                for (size_t i = 0; i < sv.n_procs; i++) {
                        struct sv_process *p = &sv.procs[i];
                        if (p->phase != SV_EXITING)
                                continue;
                        if (now >= p->next_check_us) {
                                int k = sv_grace_check(&sv, p, now);
                                if (k < 0 && r == 0)
                                        r = k;
                        }
                        if (p->phase == SV_EXITING && p->next_check_us < next)
                                next = p->next_check_us;
                }
                if (timeout_at && !sv.result.timed_out) {
                        if (now >= timeout_at)
                                sv_on_timeout(&sv);
                        else if (timeout_at < next)
                                next = timeout_at;
                }

                struct timespec ts = { 1, 0 }, *tsp = NULL;
                if (next != UINT64_MAX) {
                        uint64_t d = next > now ? next - now : 0;
                        ts.tv_sec = (time_t) (d / 1000000u);
                        ts.tv_nsec = (long) (d % 1000000u) * 1000;
                        tsp = &ts;
                }
                siginfo_t si;
                int sig = sigtimedwait(&loop_set, &si, tsp);
                /* A signal the terminal sent reached the program's process
                 * group too; one another process sent to us is passed on. */
                if (sig > 0 && sig != SIGCHLD && si.si_code != SI_KERNEL && !sv.main_ended)
                        kill(sv.main_pid, sig);
        }
        if (!sv.main_ended && r == 0)
                r = -ECHILD;
out:
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
