/* The --at-exit supervisor; see supervise.h.
 *
 * One event loop over poll(): the seccomp listener (a thread wants to create
 * a thread, or to exit), a signalfd (SIGCHLD: the program ended; SIGINT,
 * SIGTERM, SIGHUP: pass them on) and the deadlines (grace re-checks,
 * --timeout).  An exiting thread is held in its exit_group while its process
 * is judged: a grace period with growing back-off while some other thread
 * still runs or waits with a timeout, then a snapshot of the others as -p
 * takes it, then the exit_group goes on and the process ends as it would
 * have. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "capture.h"
#include "classify.h"
#include "inspect.h"
#include "judge.h"
#include "procfs.h"
#include "supervise.h"
#include "util.h"

#define X32_SYSCALL_BIT 0x40000000u
#define I386_EXIT_GROUP 252
#define CLONE_ARGS_TLS_OFFSET 56        /* struct clone_args: flags pidfd child_tid
                                         * parent_tid exit_signal stack stack_size tls */

/* The stack that created a thread, found again by the thread's TLS. */
struct creator_record {
        pid_t tgid;
        uint64_t tls;
        struct thread_capture creator;
};

enum sv_phase { SV_EXITING, SV_JUDGED };

/* A process with threads held in exit_group. */
struct sv_process {
        pid_t pid;
        enum sv_phase phase;
        int exit_code;          /* exit_group's argument */
        uint64_t *held_ids;     /* seccomp notification ids, and */
        pid_t *held;            /* the threads that wait on them */
        size_t n_held;
        uint64_t grace_deadline_us, next_check_us, backoff_us;
};

struct supervisor {
        const struct supervise_options *opts;
        int listener;
        pid_t main_pid;
        struct creator_record *creators;
        size_t n_creators, cap_creators;
        struct sv_process *procs;
        size_t n_procs;
        pid_t *lingering;       /* seized for a snapshot but never stopped (an
                                 * uninterruptible sleep): still our tracees */
        size_t n_lingering;
        struct leakscan_report *report;
        struct leakscan_process main_identity;  /* exe and cmdline, read at start */
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

/* ---- starting the program ---- */

/* The child's filter: notify exit_group (x86_64, x32, i386 numbers), clone
 * with CLONE_THREAD and clone3 (its flags are in memory, out of the filter's
 * reach; the supervisor lets a fork through); allow everything else. */
static int install_filter(void)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 9),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 12, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, X32_SYSCALL_BIT | SYS_exit_group, 11, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 10, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 7, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 2),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, I386_EXIT_GROUP, 2, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        };
        struct sock_fprog prog = { .len = ARRAY_SIZE(code), .filter = code };
        unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* Without CAP_SYS_ADMIN a filter needs no_new_privs (which then also
         * stops set-user-ID programs from gaining privileges). */
        int fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (fd < 0 && errno == EACCES) {
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        return -errno;
                fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        }
        return fd < 0 ? -errno : fd;
}

static int send_fd(int sock, int fd)
{
        char data = 'L';
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctrl = {0};
        struct iovec iov = { &data, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                              .msg_controllen = sizeof ctrl.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Returns the fd received, or a negative errno (-EPIPE: none came). */
static int recv_fd(int sock)
{
        char data;
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctrl;
        struct iovec iov = { &data, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                              .msg_controllen = sizeof ctrl.buf };
        ssize_t n;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return n < 0 ? -errno : -EPIPE;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (!c || c->cmsg_type != SCM_RIGHTS)
                return -EPIPE;
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        return fd;
}

/* Forks the program: the child installs the filter, hands us its listener
 * and execs.  A failure in the child comes back as an errno on a
 * close-on-exec pipe; the child then ends with a plain exit, which the
 * filter does not watch.  Returns 0 with the pid and the listener, or a
 * negative errno. */
static int spawn(char **argv, char **envp, const sigset_t *child_mask, pid_t *ret_pid, int *ret_listener)
{
        int sv[2], err[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]); close(sv[1]); close(err[0]); close(err[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                close(err[0]);
                sigprocmask(SIG_SETMASK, child_mask, NULL);
                int e, fd = install_filter();
                if (fd >= 0) {
                        e = send_fd(sv[1], fd);
                        close(fd);
                        close(sv[1]);
                        if (e == 0) {
                                if (envp)
                                        execvpe(argv[0], argv, envp);
                                else
                                        execvp(argv[0], argv);
                                e = -errno;
                        }
                } else {
                        e = fd;
                }
                (void) !write(err[1], &e, sizeof e);
                syscall(SYS_exit, 127);
        }
        close(sv[1]);
        close(err[1]);
        int listener = recv_fd(sv[0]);
        close(sv[0]);
        int child_err = 0;
        ssize_t n;
        do
                n = read(err[0], &child_err, sizeof child_err);
        while (n < 0 && errno == EINTR);
        close(err[0]);
        int r = n == (ssize_t) sizeof child_err ? child_err : listener < 0 ? listener : 0;
        if (r < 0) {
                if (listener >= 0)
                        close(listener);
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return r;
        }
        *ret_pid = pid;
        *ret_listener = listener;
        return 0;
}

/* ---- creator stacks ---- */

static const struct thread_capture *sv_find_creator(void *userdata, pid_t pid, const struct thread_capture *t)
{
        struct supervisor *sv = userdata;
        uint64_t tls = arch_regs_tls(&t->regs);
        for (size_t i = 0; i < sv->n_creators; i++)
                if (sv->creators[i].tls == tls && sv->creators[i].tgid == pid)
                        return &sv->creators[i].creator;
        return NULL;
}

/* Keeps c as the creator of the thread (tgid, tls), replacing an older one:
 * glibc reuses a finished thread's stack, and so its TLS, for a new one. */
static int sv_store_creator(struct supervisor *sv, pid_t tgid, uint64_t tls, struct thread_capture *c)
{
        for (size_t i = 0; i < sv->n_creators; i++)
                if (sv->creators[i].tls == tls && sv->creators[i].tgid == tgid) {
                        free(sv->creators[i].creator.stack);
                        sv->creators[i].creator = *c;
                        return 0;
                }
        if (sv->n_creators == sv->cap_creators) {
                size_t n = sv->cap_creators ? sv->cap_creators * 2 : 64;
                struct creator_record *nc = realloc(sv->creators, n * sizeof *nc);
                if (!nc)
                        return -ENOMEM;
                sv->creators = nc;
                sv->cap_creators = n;
        }
        sv->creators[sv->n_creators++] = (struct creator_record) { tgid, tls, *c };
        return 0;
}

/* The process a thread belongs to, or 0 when it is gone. */
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

/* Reads n bytes at addr of thread tid: from the stack copy c when it holds
 * them (struct clone_args lives in pthread_create's frame), else from the
 * process.  Returns true on success. */
static bool read_creator_memory(pid_t tid, const struct thread_capture *c, uint64_t addr, void *buf, size_t n)
{
        if (c->stack && addr >= c->stack_addr && addr - c->stack_addr <= c->stack_len &&
            c->stack_len - (addr - c->stack_addr) >= n) {
                memcpy(buf, c->stack + (addr - c->stack_addr), n);
                return true;
        }
        struct iovec local = { buf, n };
        struct iovec remote = { (void *) (uintptr_t) addr, n };
        return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t) n;
}

/* A thread waits in clone or clone3 to create a thread: copy its stack. */
static void sv_on_clone(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        /* Without --follow-forks only the program's own threads count: its
         * /proc/PID/task holds no other (the read below fails for them). */
        pid_t tgid = sv->opts->follow_forks ? tid_tgid(tid) : sv->main_pid;
        struct thread_capture c;
        if (!tgid || capture_blocked_thread(tgid, tid, sv->opts->creator_window, &c) < 0)
                return;
        uint64_t tls = n->data.args[4];         /* clone(flags, stack, ptid, ctid, tls) */
        if (n->data.nr == SYS_clone3) {
                uint64_t args[8];
                if (!read_creator_memory(tid, &c, n->data.args[0], args, sizeof args) ||
                    !(args[0] & CLONE_THREAD)) {
                        free(c.stack);  /* a fork through clone3: no thread */
                        return;
                }
                tls = args[CLONE_ARGS_TLS_OFFSET / 8];
        }
        /* glibc's clone and clone3 wrappers end their unwind information
         * before the syscall (the child could not use it) and push nothing:
         * the return address into pthread_create is on top of the stack. */
        uint64_t ret_addr;
        if (c.stack_len >= sizeof ret_addr) {
                memcpy(&ret_addr, c.stack, sizeof ret_addr);
                arch_regs_return_to(&c.regs, ret_addr);
        }
        /* The notification must still be pending, or the TID we read /proc
         * for may already name another thread. */
        if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) < 0 ||
            sv_store_creator(sv, tgid, tls, &c) < 0)
                free(c.stack);
}

/* ---- judging ---- */

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

/* Snapshots process pid (held threads as /proc shows them) and adds it to
 * the report.  everything_leaks: the --timeout report, where every thread
 * counts, the main one included. */
static int sv_judge(struct supervisor *sv, pid_t pid, const pid_t *held, size_t n_held, bool everything_leaks)
{
        struct leakscan_process *lp = sv_report_add(sv);
        if (!lp)
                return -ENOMEM;
        lp->pid = pid;
        inspect_read_identity(lp);

        struct process_capture *cap = NULL;
        int r = inspect_snapshot(pid, &sv->opts->inspect, held, n_held, &cap);
        if (r < 0)
                return r;
        lp->n_vanished = cap->n_vanished;
        lp->incomplete = cap->incomplete;
        lp->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (!t->seized || t->vanished)
                        continue;
                pid_t *l = realloc(sv->lingering, (sv->n_lingering + 1) * sizeof *l);
                if (l) {
                        sv->lingering = l;
                        sv->lingering[sv->n_lingering++] = t->tid;
                }
        }
        struct creator_lookup creators = { sv_find_creator, sv };
        r = inspect_analyse(cap, &sv->opts->inspect, &creators, lp);
        process_capture_free(cap);
        if (r < 0)
                return r;
        struct judge_policy policy = sv->opts->judge ? *sv->opts->judge : (struct judge_policy) {0};
        policy.mode = everything_leaks ? JUDGE_TIMEOUT : JUDGE_AT_EXIT;
        return judge_process(lp, &policy);
}

static void sv_respond_continue(struct supervisor *sv, uint64_t id)
{
        struct seccomp_notif_resp resp = { .id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
        /* ENOENT: the thread was killed or interrupted meanwhile */
        (void) ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void sv_release_held(struct supervisor *sv, struct sv_process *p)
{
        for (size_t i = 0; i < p->n_held; i++)
                sv_respond_continue(sv, p->held_ids[i]);
        free(p->held_ids);
        free(p->held);
        p->held_ids = NULL;
        p->held = NULL;
        p->n_held = 0;
}

/* Whether some thread of p other than the held ones may still finish by
 * itself: running, or in a wait with a timeout.  Read from /proc without
 * stopping anything. */
static bool sv_others_busy(const struct sv_process *p)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int) p->pid);
        DIR *d = opendir(path);
        bool busy = false;
        if (!d)
                return false;
        struct dirent *de;
        while (!busy && (de = readdir(d))) {
                pid_t tid = (pid_t) atoi(de->d_name);
                bool held = tid <= 0;
                for (size_t i = 0; i < p->n_held; i++)
                        held |= p->held[i] == tid;
                if (held)
                        continue;
                _cleanup_free_ char *stat = NULL, *sc = NULL;
                struct proc_stat st;
                snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) p->pid, (int) tid);
                if (read_full_file(path, &stat) < 0 || procfs_parse_stat(stat, &st) < 0 ||
                    st.state == 'Z' || st.state == 'X')
                        continue;
                struct proc_syscall psc;
                snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int) p->pid, (int) tid);
                if (st.state == 'R' || read_full_file(path, &sc) < 0 || procfs_parse_syscall(sc, &psc) < 0 ||
                    psc.running) {
                        busy = st.state == 'R' || (sc && psc.running);
                        continue;
                }
                struct classify_input in = { .proc_state = st.state, .syscall_nr = psc.nr };
                memcpy(in.args, psc.args, sizeof in.args);
                struct classify_result cr;
                classify_thread(&in, &cr);
                busy = cr.verdict != LEAKSCAN_VERDICT_BLOCKED;
        }
        closedir(d);
        return busy;
}

/* One grace check of an exiting process: judge it once nothing can change
 * any more by itself, or the grace period is over. */
static int sv_grace_check(struct supervisor *sv, struct sv_process *p, uint64_t now)
{
        if (now < p->grace_deadline_us && sv_others_busy(p)) {
                p->backoff_us = p->backoff_us ? p->backoff_us * 2 : 1000;
                if (p->backoff_us > 100000)
                        p->backoff_us = 100000;
                p->next_check_us = now + p->backoff_us;
                if (p->next_check_us > p->grace_deadline_us)
                        p->next_check_us = p->grace_deadline_us;
                return 0;
        }
        int r = sv_judge(sv, p->pid, p->held, p->n_held, false);
        struct leakscan_report *rep = sv->report;
        if (rep->n_processes > 0 && rep->processes[rep->n_processes - 1].pid == p->pid) {
                rep->processes[rep->n_processes - 1].has_exit = true;
                rep->processes[rep->n_processes - 1].exit_code = p->exit_code;
        }
        p->phase = SV_JUDGED;
        sv_release_held(sv, p);
        return r;
}

/* A thread waits in exit_group. */
static int sv_on_exit_group(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        pid_t tgid = tid_tgid(tid);
        if (tgid != sv->main_pid && !sv->opts->follow_forks)
                tgid = 0;
        struct sv_process *p = NULL;
        for (size_t i = 0; i < sv->n_procs; i++)
                if (sv->procs[i].pid == tgid)
                        p = &sv->procs[i];
        if (!tgid || sv->result.timed_out || (p && p->phase == SV_JUDGED)) {
                sv_respond_continue(sv, n->id);
                return 0;
        }
        if (!p) {
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
                        .phase = SV_EXITING,
                        .exit_code = (int) (n->data.args[0] & 0xff),
                        .grace_deadline_us = now + (uint64_t) sv->opts->grace_ms * 1000u,
                        .next_check_us = now,
                };
        }
        uint64_t *ids = realloc(p->held_ids, (p->n_held + 1) * sizeof *ids);
        if (ids)
                p->held_ids = ids;
        pid_t *held = realloc(p->held, (p->n_held + 1) * sizeof *held);
        if (held)
                p->held = held;
        if (!ids || !held) {
                sv_respond_continue(sv, n->id);
                return -ENOMEM;
        }
        p->held_ids[p->n_held] = n->id;
        p->held[p->n_held++] = tid;
        return 0;
}

static int sv_on_notification(struct supervisor *sv)
{
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
                return errno == ENOENT || errno == EINTR ? 0 : -errno;
        if (n.data.nr == SYS_exit_group || n.data.nr == (int) (X32_SYSCALL_BIT | SYS_exit_group) ||
            (n.data.arch == AUDIT_ARCH_I386 && n.data.nr == I386_EXIT_GROUP))
                return sv_on_exit_group(sv, &n);
        if (n.data.arch == AUDIT_ARCH_X86_64 && (n.data.nr == SYS_clone || n.data.nr == SYS_clone3))
                sv_on_clone(sv, &n);
        sv_respond_continue(sv, n.id);
        return 0;
}

/* --timeout: report every thread of the program, then kill it. */
static void sv_on_timeout(struct supervisor *sv)
{
        sv->result.timed_out = true;
        sv->report->mode = "timeout";
        if (!sv->main_ended) {
                const pid_t *held = NULL;
                size_t n_held = 0;
                for (size_t i = 0; i < sv->n_procs; i++)
                        if (sv->procs[i].pid == sv->main_pid && sv->procs[i].phase == SV_EXITING) {
                                held = sv->procs[i].held;
                                n_held = sv->procs[i].n_held;
                        }
                (void) sv_judge(sv, sv->main_pid, held, n_held, true);
        }
        kill(sv->main_pid, SIGKILL);
}

static void sv_on_main_exit(struct supervisor *sv, int status)
{
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
        if (lp) {
                lp->has_exit = true;
                lp->exit_code = sv->result.exit_code;
                lp->exit_signal = sv->result.exit_signal;
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

/* Descendants may outlive the program, and the filter they inherited would
 * make their exit_group fail without a listener: a detached child of ours
 * answers "go on" to every notification until no filtered process is left. */
static void sv_hand_off_listener(struct supervisor *sv)
{
        struct pollfd pfd = { sv->listener, POLLIN, 0 };
        if (poll(&pfd, 1, 0) >= 0 && (pfd.revents & POLLHUP))
                return;         /* nobody uses the filter any more */
        pid_t pid = fork();
        if (pid != 0)
                return;
        /* the responder: no stdio of the test runner kept open */
        setsid();
        for (int fd = 0; fd < 1024; fd++)
                if (fd != sv->listener)
                        close(fd);
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        for (;;) {
                pfd.revents = 0;
                if (poll(&pfd, 1, -1) < 0 || (pfd.revents & (POLLHUP | POLLERR)))
                        _exit(0);
                struct seccomp_notif n;
                memset(&n, 0, sizeof n);
                if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0)
                        sv_respond_continue(sv, n.id);
        }
}

static void supervisor_free(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_creators; i++)
                free(sv->creators[i].creator.stack);
        free(sv->creators);
        for (size_t i = 0; i < sv->n_procs; i++) {
                free(sv->procs[i].held);
                free(sv->procs[i].held_ids);
        }
        free(sv->procs);
        free(sv->lingering);
        free(sv->main_identity.exe);
        for (size_t i = 0; i < sv->main_identity.n_cmdline; i++)
                free(sv->main_identity.cmdline[i]);
        free(sv->main_identity.cmdline);
        if (sv->listener >= 0)
                close(sv->listener);
}

int supervise_run(char **argv, const struct supervise_options *opts,
                  struct leakscan_report **ret_report, struct supervise_result *ret)
{
        struct supervisor sv = { .opts = opts, .listener = -1 };
        sv.report = calloc(1, sizeof *sv.report);
        if (!sv.report)
                return -ENOMEM;
        sv.report->mode = "at-exit";

        /* SIGCHLD ends the loop; SIGINT, SIGTERM and SIGHUP are passed on.
         * Blocked and read from a signalfd; the child gets the mask we were
         * started with. */
        sigset_t loop_set, old_mask;
        sigemptyset(&loop_set);
        sigaddset(&loop_set, SIGCHLD);
        sigaddset(&loop_set, SIGINT);
        sigaddset(&loop_set, SIGTERM);
        sigaddset(&loop_set, SIGHUP);
        sigprocmask(SIG_BLOCK, &loop_set, &old_mask);
        int sfd = signalfd(-1, &loop_set, SFD_CLOEXEC | SFD_NONBLOCK);
        int r = sfd < 0 ? -errno : spawn(argv, opts->envp, &old_mask, &sv.main_pid, &sv.listener);
        if (r < 0)
                goto out;
        sv.main_identity.pid = sv.main_pid;
        inspect_read_identity(&sv.main_identity);

        uint64_t timeout_at = opts->timeout_ms > 0 ?
                now_usec(CLOCK_MONOTONIC) + (uint64_t) opts->timeout_ms * 1000u : 0;
        bool listener_done = false;
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC), next = UINT64_MAX;
                bool exiting = false;
                for (size_t i = 0; i < sv.n_procs; i++) {
                        struct sv_process *p = &sv.procs[i];
                        if (p->phase != SV_EXITING)
                                continue;
                        if (now >= p->next_check_us) {
                                int k = sv_grace_check(&sv, p, now);
                                if (k < 0 && r == 0)
                                        r = k;
                        }
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

                /* once no process uses the filter, the listener only says
                 * POLLHUP: stop asking it */
                struct pollfd pfd[2] = { { listener_done ? -1 : sv.listener, POLLIN, 0 }, { sfd, POLLIN, 0 } };
                int wait_ms = next == UINT64_MAX ? -1 : next <= now ? 0 : (int) ((next - now + 999) / 1000);
                if (poll(pfd, 2, wait_ms) < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (pfd[0].revents & POLLIN) {
                        int k = sv_on_notification(&sv);
                        if (k < 0 && r == 0)
                                r = k;
                } else if (pfd[0].revents & (POLLHUP | POLLERR)) {
                        listener_done = true;
                }
                if (pfd[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) == (ssize_t) sizeof si) {
                                /* A signal the terminal sent reached the
                                 * program's process group too; one another
                                 * process sent to us is passed on. */
                                if (si.ssi_signo != SIGCHLD && si.ssi_code != SI_KERNEL && !sv.main_ended)
                                        kill(sv.main_pid, (int) si.ssi_signo);
                        }
                        sv_reap_lingering(&sv);
                        int status;
                        if (!sv.main_ended && waitpid(sv.main_pid, &status, WNOHANG) == sv.main_pid)
                                sv_on_main_exit(&sv, status);
                }
        }
        sv_hand_off_listener(&sv);
out:
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
