/* The --at-exit supervisor; see supervise.h.
 *
 * One event loop over poll(): the notifications a receiver thread took from
 * the seccomp listener (a thread wants to create a thread, or to exit), a
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "arch.h"
#include "capture.h"
#include "classify.h"
#include "clonesite.h"
#include "inspect.h"
#include "judge.h"
#include "modules.h"
#include "procfs.h"
#include "seize.h"
#include "supervise.h"
#include "syscalls.h"
#include "symbolize.h"
#include "util.h"

/* The stack that created a thread, found again by the thread's TLS. */
struct creator_record {
        pid_t tgid;
        uint64_t tls;
        struct thread_capture creator;
};

enum sv_phase { SV_EXITING, SV_JUDGED };

/* A thread held in exit_group, or in the exit that glibc's _exit falls back
 * to when a signal interrupted its exit_group (see sv_on_exit). */
struct sv_hold {
        uint64_t id;            /* the pending notification */
        pid_t tid;
        bool in_exit;           /* held in exit, not exit_group */
        bool answered;
        bool parked;            /* in a ptrace stop of ours: see sv_park */
        int park_sig;
        uint64_t group_ip;      /* where its exit_group's syscall instruction
                                 * ends: to call it again from there; 0 when
                                 * we never saw that exit_group */
        uint64_t exit_ip;       /* in_exit: the same for its exit */
        bool native;            /* made with the native ABI: the only one we
                                 * can make exit_group again for */
};

/* Where a thread of an exiting process stands in its quarantine (see
 * "the quarantine" below). */
enum sv_qstate {
        SVQ_PENDING,            /* seized and interrupted, not stopped yet */
        SVQ_STOPPED,            /* in a ptrace stop we keep */
        SVQ_FREE,               /* running, stopped at each syscall */
        SVQ_HELD,               /* held before a call with an effect outside */
        SVQ_GONE,               /* ended, or never ours */
};

struct sv_qthread {
        pid_t tid;
        enum sv_qstate state;
        bool stopping;          /* interrupted for the snapshot: keep its stop */
        bool group_stop;        /* in a job-control stop: left there */
        int sig;                /* to deliver when it goes on */
        bool at_entry;          /* stopped at the entry of nr(args), the */
        long nr;                /* syscall instruction ending at entry_pc */
        uint64_t args[6];
        uint64_t entry_pc;
        bool in_notif;          /* HELD waiting for our answer to its clone,
                                 * not in a ptrace stop */
        bool exiting;           /* held in an exit_group of its own */
        long slept_in;          /* the call our first stop interrupted, or -1 */
        bool woken;             /* our first stop ended a wait of its: its
                                 * last-ran time is ours from then on */
        bool restarted;         /* HELD entering slept_in again: a wait it
                                 * was in before the exit, not a new call */
        long last_call;         /* the last call it entered but restart_syscall
                                 * (which resumes it), or -1 */
};

struct sv_quarantine {
        struct sv_qthread *threads;
        size_t n, cap;
        bool active;            /* some threads are our tracees */
        bool released;          /* judged, its exit went on: only reaping left */
        int error;              /* why a thread runs unquarantined (-EPERM,
                                 * -EBUSY), or 0 */
        uint64_t begin_us;      /* when we received the exit */
        bool has_stop_us;
        uint64_t stop_us;       /* from begin_us to every thread stopped */
        bool settled;           /* a thread ended or was held: judge sooner */
};

/* A process with threads held in exit_group. */
struct sv_process {
        pid_t pid;
        enum sv_phase phase;
        int exit_code;          /* exit_group's argument */
        struct sv_hold *holds;  /* kept once answered: see sv_on_exit */
        size_t n_holds;
        bool exit_redone;       /* exit_group was called again for it */
        uint64_t grace_deadline_us, next_check_us, backoff_us;
        struct sv_quarantine q; /* its other threads while it exits */
};

/* What the guardian needs to answer the notifications the supervisor had
 * received but not answered when it died: shared memory, written by the
 * supervisor only.  Ids are consecutive per filter; every one from lo to
 * hi may still wait. */
struct guardian_page {
        volatile uint64_t lo, hi;
        volatile int known;     /* lo and hi were written */
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
        struct guardian_page *guardian;
        int guardian_pipe;      /* its other end wakes the guardian when we end */
        pid_t guardian_pid;
        char *loop_error;       /* why the supervision stopped early, or NULL */
        bool killable_wait;     /* held calls wait through signals (5.19+) */
        pid_t probe_pid;        /* see sv_should_forward */
        int probe_sock;
        uint64_t last_id;       /* of the last notification received */
        bool have_last_id;
        uint64_t n_lost;        /* notifications a signal undid before we got
                                 * them: ids are consecutive, these are gaps */
        struct exit_site { pid_t tgid; uint64_t ip; bool in_exit_fn; } *exit_sites;
        size_t n_exit_sites;
        pthread_t receiver;     /* see receiver_main */
        bool receiver_running;
        volatile sig_atomic_t receiver_stop;
        int queue[2];           /* received notifications, receiver -> loop */
        bool main_reaped;       /* the program's end was reaped as a tracee's: */
        int main_reaped_status; /* see sv_note_reaped */
        size_t *creator_index;  /* open addressing on (tgid, tls): 1 + index */
        size_t creator_index_size;      /* into creators, 0 empty; a power of two */
        struct clone_sites clone_sites; /* where creators' stack pointers come from */
        int creator_sp_mode;    /* 0 not read yet, 1 derived where it can, 2 /proc
                                 * only (LEAKSCAN_CREATOR_SP=proc: a diagnostic) */
};

void supervise_options_init(struct supervise_options *opts)
{
        *opts = (struct supervise_options) {
                .grace_ms = 500,
                .creator_window = 16 * 1024,
        };
        leakscan_options_init(&opts->inspect);
}

/* ---- the seccomp filter ----
 * Written as a list of instructions whose jumps name labels; the assembler
 * below turns labels into the forward offsets classic BPF wants, so that no
 * offset is ever counted by hand. */

#define FILTER_MAX 96
enum { LABEL_NEXT = -1 };       /* a jump's "fall through" */

struct filter_builder {
        struct sock_filter code[FILTER_MAX];
        int jt[FILTER_MAX], jf[FILTER_MAX];     /* labels of jumps */
        int label_at[32];                       /* instruction index, or -1 */
        size_t n;
        int n_labels;
        bool overflow;
};

static int fb_label(struct filter_builder *b)
{
        if (b->n_labels == (int) ARRAY_SIZE(b->label_at)) {
                b->overflow = true;
                return 0;
        }
        b->label_at[b->n_labels] = -1;
        return b->n_labels++;
}

static void fb_place(struct filter_builder *b, int label)
{
        b->label_at[label] = (int) b->n;
}

static void fb_emit(struct filter_builder *b, uint16_t code, uint32_t k, int jt, int jf)
{
        if (b->n == FILTER_MAX) {
                b->overflow = true;
                return;
        }
        b->code[b->n] = (struct sock_filter) BPF_JUMP(code, k, 0, 0);
        b->jt[b->n] = jt;
        b->jf[b->n] = jf;
        b->n++;
}

static void fb_stmt(struct filter_builder *b, uint16_t code, uint32_t k)
{
        fb_emit(b, code, k, LABEL_NEXT, LABEL_NEXT);
}

/* Resolves the labels into offsets.  Returns 0, or -E2BIG for a program that
 * does not fit or a jump that is not forward and short. */
static int fb_assemble(struct filter_builder *b, struct sock_fprog *ret)
{
        if (b->overflow)
                return -E2BIG;
        for (size_t i = 0; i < b->n; i++) {
                if (BPF_CLASS(b->code[i].code) != BPF_JMP)
                        continue;
                int to[2] = { b->jt[i], b->jf[i] };
                uint8_t off[2];
                for (int j = 0; j < 2; j++) {
                        long at = to[j] == LABEL_NEXT ? (long) i + 1 : b->label_at[to[j]];
                        if (at <= (long) i || at - (long) i - 1 > 255)
                                return -E2BIG;
                        off[j] = (uint8_t) (at - (long) i - 1);
                }
                b->code[i].jt = off[0];
                b->code[i].jf = off[1];
        }
        *ret = (struct sock_fprog) { .len = (unsigned short) b->n, .filter = b->code };
        return 0;
}

/* The child's filter: notify exit_group and exit (the fallback of glibc's
 * _exit) on every ABI, thread creation (clone with CLONE_THREAD, clone3:
 * its flags are in memory, out of the filter's reach, and the supervisor
 * lets a fork through) on the native one, and an attempt to enter
 * SECCOMP_MODE_STRICT (which no filtered task can: the supervisor refuses
 * the program); allow everything else. */
static int build_filter(struct filter_builder *b, struct sock_fprog *ret)
{
        *b = (struct filter_builder) {0};
        int allow = fb_label(b), notify = fb_label(b);
        int prctl = fb_label(b), seccomp = fb_label(b);
        int abi_label[ARRAY_SIZE(arch_seccomp_abis)], clone_label[ARRAY_SIZE(arch_seccomp_abis)];
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                abi_label[a] = fb_label(b);
                clone_label[a] = fb_label(b);
        }

        /* load the audit arch */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                /* ABIs sharing an audit arch (x86_64, x32) share a block */
                if (a > 0 && arch_seccomp_abis[a].audit_arch == arch_seccomp_abis[a - 1].audit_arch)
                        continue;
                /* this arch: go to its block */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, arch_seccomp_abis[a].audit_arch, abi_label[a], LABEL_NEXT);
        }
        /* an arch we do not know: nothing to watch */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                const struct arch_seccomp_abi *abi = &arch_seccomp_abis[a];
                bool first = a == 0 || abi->audit_arch != arch_seccomp_abis[a - 1].audit_arch;
                bool last = a + 1 == ARRAY_SIZE(arch_seccomp_abis) ||
                            abi->audit_arch != arch_seccomp_abis[a + 1].audit_arch;
                if (first) {
                        fb_place(b, abi_label[a]);
                        /* load the syscall number */
                        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
                }
                /* exit_group: hold it */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->exit_group, notify, LABEL_NEXT);
                /* exit: glibc's fallback when exit_group returned */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->exit, notify, LABEL_NEXT);
                /* prctl: check for PR_SET_SECCOMP */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->prctl, prctl, LABEL_NEXT);
                /* seccomp: check for SECCOMP_SET_MODE_STRICT */
                fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->seccomp, seccomp, LABEL_NEXT);
                if (abi->clone3 >= 0)
                        /* clone3: its flags are in memory, ask the supervisor */
                        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->clone3, notify, LABEL_NEXT);
                if (abi->clone >= 0)
                        /* clone: check its flags */
                        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, abi->nr_bit | (uint32_t) abi->clone, clone_label[a], LABEL_NEXT);
                if (last)
                        /* any other call of this arch */
                        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        }
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                if (arch_seccomp_abis[a].clone < 0)
                        continue;
                fb_place(b, clone_label[a]);
                /* load clone's flags (low word) */
                fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
                /* a thread: ask the supervisor; a process: allow */
                fb_emit(b, BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, notify, allow);
        }
        fb_place(b, prctl);
        /* load prctl's option */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        /* PR_SET_SECCOMP: look at the mode; anything else: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, PR_SET_SECCOMP, LABEL_NEXT, allow);
        /* load the mode */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
        /* strict: tell the supervisor; a filter of its own: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_MODE_STRICT, notify, allow);
        fb_place(b, seccomp);
        /* load seccomp's operation */
        fb_stmt(b, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        /* strict: tell the supervisor; anything else: allow */
        fb_emit(b, BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_SET_MODE_STRICT, notify, allow);
        fb_place(b, allow);
        /* let it run */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        fb_place(b, notify);
        /* wait for the supervisor's answer */
        fb_stmt(b, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
        return fb_assemble(b, ret);
}

/* What a notification asks about. */
enum sv_call { SV_CALL_OTHER, SV_CALL_EXIT_GROUP, SV_CALL_EXIT, SV_CALL_CLONE, SV_CALL_CLONE3, SV_CALL_STRICT };

static enum sv_call sv_call_of(const struct seccomp_data *d)
{
        for (size_t a = 0; a < ARRAY_SIZE(arch_seccomp_abis); a++) {
                const struct arch_seccomp_abi *abi = &arch_seccomp_abis[a];
                if (d->arch != abi->audit_arch)
                        continue;
                int nr = d->nr;
                if (abi->nr_bit) {
                        if (!((uint32_t) nr & abi->nr_bit))
                                continue;
                        nr = (int) ((uint32_t) nr & ~abi->nr_bit);
                } else if ((uint32_t) nr & ARCH_X32_SYSCALL_BIT && abi->audit_arch == ARCH_SECCOMP_NATIVE->audit_arch) {
                        continue;
                }
                if (nr == abi->exit_group)
                        return SV_CALL_EXIT_GROUP;
                if (nr == abi->exit)
                        return SV_CALL_EXIT;
                if (nr == abi->prctl || nr == abi->seccomp)
                        return SV_CALL_STRICT;  /* the filter lets no other through */
                if (abi == ARCH_SECCOMP_NATIVE && nr == abi->clone)
                        return SV_CALL_CLONE;
                if (abi == ARCH_SECCOMP_NATIVE && nr == abi->clone3)
                        return SV_CALL_CLONE3;
        }
        return SV_CALL_OTHER;
}

/* ---- starting the program ---- */

/* Installs the filter in the calling process.  With
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) a held exit_group,
 * once received, waits through any signal but a fatal one; without it (an
 * older kernel, or LEAKSCAN_TEST_INTERRUPTIBLE_EXIT set, which the tests use
 * to exercise that path) a signal interrupts it and the exit fallback above
 * keeps the exit held.  Returns the listener, and in *ret_killable whether
 * the wait is killable only, or a negative errno. */
static int install_filter(bool *ret_killable)
{
        struct filter_builder b;
        struct sock_fprog prog;
        int r = build_filter(&b, &prog);
        if (r < 0)
                return r;
        unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        if (!getenv("LEAKSCAN_TEST_INTERRUPTIBLE_EXIT"))
                flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#endif
        for (;;) {
                int fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
                if (fd >= 0) {
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                        *ret_killable = flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#else
                        *ret_killable = false;
#endif
                        return fd;
                }
                /* Without CAP_SYS_ADMIN a filter needs no_new_privs (which
                 * then also stops set-user-ID programs from gaining
                 * privileges). */
                if (errno == EACCES && !prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) {
                        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                                return -errno;
                        continue;
                }
#ifdef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                if (errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
                        flags &= ~(unsigned) SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
                        continue;
                }
#endif
                return -errno;
        }
}

/* Sends fd with one byte of data. */
static int send_fd(int sock, int fd, char data)
{
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

/* Returns the fd received, with its byte of data in *ret_data, or a
 * negative errno (-EPIPE: none came). */
static int recv_fd(int sock, char *ret_data)
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
        *ret_data = data;
        return fd;
}

/* How the child tells why it could not start: the step and an errno. */
struct spawn_failure {
        int step;               /* enum supervise_step */
        int err;
};

/* Forks the program: the child installs the filter, hands us its listener
 * and execs.  A failure in the child comes back on a close-on-exec pipe; the
 * child then ends with a plain exit, which the supervisor answers like any.
 * The child makes one call the filter reports (clone3 without arguments,
 * which then fails) before it may exec: its notification tells where the
 * ids start.  ready(userdata, listener, that notification or NULL) is
 * called before the child may exec.  Returns 0
 * with the pid, the listener and whether a held call waits killably, or a
 * negative errno and the step that failed in *ret_step. */
static int spawn(char **argv, char **envp, const sigset_t *child_mask,
                 void (*ready)(void *userdata, int listener, const struct seccomp_notif *first), void *userdata, pid_t *ret_pid, int *ret_listener, bool *ret_killable, enum supervise_step *ret_step)
{
        int sv[2], err[2];
        *ret_step = SUPERVISE_STEP_START;
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
                struct spawn_failure f = { SUPERVISE_STEP_FILTER, 0 };
                bool killable = false;
                int fd = install_filter(&killable);
                if (fd >= 0) {
                        f.err = send_fd(sv[1], fd, killable ? 'K' : 'I');
                        close(fd);
                        /* a first notification, answered by the parent
                         * before the program runs: where the ids start */
                        if (f.err == 0)
                                (void) syscall(SYS_clone3, NULL, 0);
                        /* go on only once the parent says so: its guardian
                         * must hold the listener before the program runs */
                        char go = 0;
                        if (f.err == 0 && read(sv[1], &go, 1) != 1)
                                f.err = -ECANCELED;
                        close(sv[1]);
                        if (f.err == 0) {
                                f.step = SUPERVISE_STEP_EXEC;
                                if (envp)
                                        execvpe(argv[0], argv, envp);
                                else
                                        execvp(argv[0], argv);
                                f.err = -errno;
                        }
                } else {
                        f.err = fd;
                        close(sv[1]);
                }
                (void) !write(err[1], &f, sizeof f);
                for (;;)        /* the parent kills us */
                        pause();
        }
        close(sv[1]);
        close(err[1]);
        char mode = 0;
        int listener = recv_fd(sv[0], &mode);
        if (listener >= 0) {
                char go = 'g';
                struct seccomp_notif first;
                memset(&first, 0, sizeof first);
                int k;
                do
                        k = ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &first);
                while (k < 0 && errno == EINTR);
                ready(userdata, listener, k == 0 ? &first : NULL);
                if (k == 0) {
                        struct seccomp_notif_resp resp = { .id = first.id,
                                                           .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
                        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
                }
                (void) !write(sv[0], &go, 1);
        }
        close(sv[0]);
        struct spawn_failure f = { SUPERVISE_STEP_FILTER, 0 };
        ssize_t n;
        do
                n = read(err[0], &f, sizeof f);
        while (n < 0 && errno == EINTR);
        close(err[0]);
        int r = n == (ssize_t) sizeof f ? f.err : listener < 0 ? listener : 0;
        if (r < 0) {
                /* killed, not left to exit: its exit would wait for a
                 * listener */
                kill(pid, SIGKILL);
                if (listener >= 0)
                        close(listener);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                *ret_step = n == (ssize_t) sizeof f ? (enum supervise_step) f.step : SUPERVISE_STEP_FILTER;
                return r;
        }
        *ret_pid = pid;
        *ret_listener = listener;
        *ret_killable = mode == 'K';
        return 0;
}

/* ---- creator stacks ---- */

static size_t creator_slot(pid_t tgid, uint64_t tls, size_t size)
{
        uint64_t h = (tls ^ (uint64_t) (uint32_t) tgid << 40) * 0x9e3779b97f4a7c15ull;
        return (size_t) (h >> 32) & (size - 1);
}

/* The slot of (tgid, tls) in the index: its record's, or the empty one
 * where it would go. */
static size_t *creator_probe(size_t *index, size_t size, const struct creator_record *records, pid_t tgid,
                             uint64_t tls)
{
        size_t h = creator_slot(tgid, tls, size);
        while (index[h] && (records[index[h] - 1].tls != tls || records[index[h] - 1].tgid != tgid))
                h = (h + 1) & (size - 1);
        return &index[h];
}

static const struct thread_capture *sv_find_creator(void *userdata, pid_t pid, const struct thread_capture *t)
{
        struct supervisor *sv = userdata;
        if (!sv->creator_index)
                return NULL;
        size_t *slot = creator_probe(sv->creator_index, sv->creator_index_size, sv->creators, pid,
                                     arch_regs_tls(&t->regs));
        return *slot ? &sv->creators[*slot - 1].creator : NULL;
}

/* Keeps c as the creator of the thread (tgid, tls), replacing an older one:
 * glibc reuses a finished thread's stack, and so its TLS, for a new one.
 * Records are found through a hash index: a program that keeps thousands
 * of threads made a linear scan per creation quadratic. */
static int sv_store_creator(struct supervisor *sv, pid_t tgid, uint64_t tls, struct thread_capture *c)
{
        if ((sv->n_creators + 1) * 2 > sv->creator_index_size) {
                size_t size = sv->creator_index_size ? sv->creator_index_size * 2 : 128;
                size_t *index = calloc(size, sizeof *index);
                if (!index)
                        return -ENOMEM;
                for (size_t i = 0; i < sv->n_creators; i++)
                        *creator_probe(index, size, sv->creators, sv->creators[i].tgid, sv->creators[i].tls) = i + 1;
                free(sv->creator_index);
                sv->creator_index = index;
                sv->creator_index_size = size;
        }
        size_t *slot = creator_probe(sv->creator_index, sv->creator_index_size, sv->creators, tgid, tls);
        if (*slot) {
                free(sv->creators[*slot - 1].creator.stack);
                sv->creators[*slot - 1].creator = *c;
                return 0;
        }
        if (grow_array(&sv->creators, &sv->cap_creators, sv->n_creators + 1, sizeof *sv->creators) < 0)
                return -ENOMEM;
        sv->creators[sv->n_creators++] = (struct creator_record) { tgid, tls, *c };
        *slot = sv->n_creators;
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

/* The clone site (see clonesite.h) of notification n from process tgid:
 * NULL for clone, whose arguments point to nothing on the stack, and when
 * LEAKSCAN_CREATOR_SP=proc (a diagnostic) asks for /proc alone.  Owned by
 * sv. */
static struct clone_site *sv_clone_site(struct supervisor *sv, pid_t tgid, const struct seccomp_notif *n)
{
        if (sv->creator_sp_mode == 0) {
                const char *mode = getenv("LEAKSCAN_CREATOR_SP");
                sv->creator_sp_mode = mode && strcmp(mode, "proc") == 0 ? 2 : 1;
        }
        if (sv->creator_sp_mode != 1 || sv_call_of(&n->data) != SV_CALL_CLONE3)
                return NULL;
        return clone_sites_get(&sv->clone_sites, tgid, n->data.instruction_pointer);
}

/* Copies the stack of thread n->pid of process tgid, waiting in the clone
 * of notification n.  When its site (may be NULL) knows the stack pointer,
 * from there, kept when the copy bears it out; else from the stack pointer
 * /proc shows, which waits until the thread is off its CPU, and
 * *ret_from_proc says so (the site may learn from that copy).  Returns 0
 * with *ret filled (ret->stack owned by the caller), or a negative errno. */
static int sv_capture_creator(struct supervisor *sv, pid_t tgid, const struct seccomp_notif *n,
                              const struct clone_site *site, struct thread_capture *ret, bool *ret_from_proc)
{
        pid_t tid = (pid_t) n->pid;
        size_t window = sv->opts->creator_window;
        uint64_t sp;
        if (site && clone_site_derive_sp(site, n->data.args[0], &sp)) {
                uint64_t args[6];
                for (size_t i = 0; i < 6; i++)
                        args[i] = n->data.args[i];
                struct thread_capture c;
                int r = capture_syscall_at(tid, n->data.nr, args, sp, n->data.instruction_pointer, window, &c);
                if (r < 0)
                        return r;
                if (clone_site_verify(site, c.stack, c.stack_len, 8 * sizeof(uint64_t))) {
                        *ret = c;
                        *ret_from_proc = false;
                        return 0;
                }
                free(c.stack);
        }

        /* The notification reaches us before the thread has gone to sleep
         * (/proc says "running" until it has): a few yields let it. */
        struct thread_capture c;
        int r;
        for (int tries = 0; (r = capture_blocked_thread(tgid, tid, window, &c)) == -EAGAIN && tries < 3; tries++)
                sched_yield();
        if (r < 0)
                return r;
        *ret = c;
        *ret_from_proc = true;
        return 0;
}

/* The process of thread tid, which waits in a clone: 0 when it is gone or,
 * without --follow-forks, when it is not the program's (only the program's
 * own threads count).  The program's own are told by a lookup in its
 * /proc/PID/task, which finds no other; the derived stack pointer reads the
 * thread's memory without /proc, so this must be asked first. */
static pid_t sv_creator_tgid(struct supervisor *sv, pid_t tid)
{
        /* its main thread, until we reap it: its number is not reused */
        if (tid == sv->main_pid && !sv->main_ended)
                return sv->main_pid;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d", (int) sv->main_pid, (int) tid);
        if (faccessat(AT_FDCWD, path, F_OK, 0) == 0)
                return sv->main_pid;
        return sv->opts->follow_forks ? tid_tgid(tid) : 0;
}

/* A thread waits in clone or clone3 to create a thread: copy its stack. */
static void sv_on_clone(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        pid_t tgid = sv_creator_tgid(sv, tid);
        if (!tgid)
                return;
        struct clone_site *site = sv_clone_site(sv, tgid, n);
        struct thread_capture c;
        bool from_proc;
        if (sv_capture_creator(sv, tgid, n, site, &c, &from_proc) < 0)
                return;
        uint64_t tls = n->data.args[ARCH_CLONE_TLS_ARG];
        if (sv_call_of(&n->data) == SV_CALL_CLONE3) {
                uint64_t args[8];
                if (!read_creator_memory(tid, &c, n->data.args[0], args, sizeof args) ||
                    !(args[0] & CLONE_THREAD)) {
                        free(c.stack);  /* a fork through clone3: no thread */
                        return;
                }
                tls = args[ARCH_CLONE_ARGS_TLS_OFFSET / 8];
                /* only from thread creations: glibc's posix_spawn calls the
                 * same clone3 from a frame of its own */
                if (site && from_proc && c.syscall_nr == (long) n->data.nr &&
                    arch_regs_pc(&c.regs) == n->data.instruction_pointer)
                        clone_site_learn(site, n->data.args[0], c.stack_addr, c.stack, c.stack_len);
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

/* Whether process pid has ended or is ending (a fatal signal kills its
 * threads one by one): watched for up to 100 ms, since a live process whose
 * exit we hold does not fail an analysis by itself. */
static bool sv_process_ending(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        for (int i = 0; i < 100; i++) {
                _cleanup_free_ char *text = NULL;
                struct proc_stat ps;
                if (read_full_file(path, &text) < 0 ||
                    (procfs_parse_stat(text, &ps) == 0 && (ps.state == 'Z' || ps.state == 'X')))
                        return true;
                usleep(1000);
        }
        return false;
}

/* One sentence for the report saying why process pid's threads could not be
 * checked, when the snapshot (snapshot true) or the analysis of its copy
 * failed with err.  Returns a new string, or NULL without memory. */
static char *sv_describe_judge_error(pid_t pid, int err, bool snapshot)
{
        char buf[640], path[64];
        struct stat st;
        /* a non-dumpable process's /proc files (not its folder) belong to
         * root; a process that died has none, or is a zombie */
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        if ((snapshot && err == -ESRCH) || sv_process_ending(pid)) {
                snprintf(buf, sizeof buf, "its threads could not be checked: the process ended (it was killed) "
                         "while leakscan held its exit, before %s", snapshot ? "they could be stopped" :
                         "their stacks were unwound");
        } else if (snapshot && err == -EPERM && geteuid() != 0 && stat(path, &st) == 0 && st.st_uid == 0) {
                /* a non-dumpable process's /proc files belong to root */
                snprintf(buf, sizeof buf, "its threads could not be checked: the process made itself non-dumpable "
                         "(prctl PR_SET_DUMPABLE 0), which only a tracer with CAP_SYS_PTRACE may stop; "
                         "run leakscan with that capability to check it");
        } else if (snapshot) {
                char why[512];
                snprintf(buf, sizeof buf, "its threads could not be checked: %s",
                         leakscan_describe_error(err, pid, why, sizeof why));
        } else {
                snprintf(buf, sizeof buf, "its threads were stopped and copied, but the copy could not be "
                         "unwound and analysed (%s%s)", err == -ENOEXEC ? "libdw could not attach: " : "",
                         strerror(-err));
        }
        return strdup(buf);
}

static void sv_respond(struct supervisor *sv, uint64_t id, int error)
{
        struct seccomp_notif_resp resp = { .id = id };
        if (error)
                resp.error = -error;
        else
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        /* ENOENT: the thread was killed or interrupted meanwhile */
        (void) ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void sv_respond_continue(struct supervisor *sv, uint64_t id)
{
        sv_respond(sv, id, 0);
}

/* Tells the guardian which notifications may still wait for an answer:
 * received (the one in hand, and the held ones) and not answered. */
static void sv_publish_pending(struct supervisor *sv, uint64_t in_hand)
{
        if (!sv->guardian)
                return;
        uint64_t lo = in_hand;
        for (size_t i = 0; i < sv->n_procs; i++)
                for (size_t j = 0; j < sv->procs[i].n_holds; j++) {
                        const struct sv_hold *h = &sv->procs[i].holds[j];
                        if (!h->answered && (int64_t) (h->id - lo) < 0)
                                lo = h->id;
                }
        sv->guardian->lo = lo;
        if (!sv->guardian->known || (int64_t) (in_hand - sv->guardian->hi) > 0)
                sv->guardian->hi = in_hand;
        sv->guardian->known = 1;
}

/* Remembers tid as a tracee of ours that has not stopped yet. */
static void sv_add_lingering(struct supervisor *sv, pid_t tid)
{
        if (tid == sv->main_pid)
                return;         /* its stops and its end are supervise_run's */
        pid_t *l = realloc(sv->lingering, (sv->n_lingering + 1) * sizeof *l);
        if (l) {
                sv->lingering = l;
                sv->lingering[sv->n_lingering++] = tid;
        }
}

static struct sv_process *sv_find_process(struct supervisor *sv, pid_t pid);
static pid_t sv_wait_stop(pid_t tid, int *status);

/* ---- the quarantine ----
 * When a process begins to exit, its atexit handlers and static destructors
 * have run: a thread that ran on could do what it never could directly
 * (abort on a destroyed object, print after main's last line).  So the
 * moment its exit_group is received, every other thread is seized and
 * interrupted (PTRACE_SEIZE with PTRACE_O_TRACESYSGOOD, PTRACE_INTERRUPT),
 * and through the grace period runs only under ptrace syscall-stops: a call
 * that nobody outside the process can observe (syscalls_quiet: waits,
 * sleeps, clocks, its memory, its own end) goes on; any other is held at its
 * entry, never made, and the thread is reported with that call.  The
 * snapshot takes the stopped threads as they are (preseized), and the
 * exit_group, when it goes on, kills the held ones where they stand.
 *
 * If leakscan dies, the kernel lets its tracees go, and a held thread would
 * make its call after all.  So a held thread is turned, at once, into a
 * thread about to call exit_group with the process's own status: let go, it
 * ends the process as it would have ended without us (the guardian answers
 * that exit_group), and the held call is still never made. */

static struct sv_qthread *sv_q_find(struct sv_quarantine *q, pid_t tid)
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
static void sv_q_hold(struct sv_quarantine *q, struct sv_qthread *qt, bool native, int code)
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
            !arch_is_syscall_insn(insn) || ptrace(PTRACE_GETREGS, qt->tid, 0, &regs) < 0)
                return;
        arch_regs_set_syscall(&regs, qt->entry_pc - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                              (uint64_t) code);
        (void) ptrace(PTRACE_SETREGS, qt->tid, 0, &regs);
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

/* One wait status of a quarantined thread, consumed. */
static void sv_q_on_stop(struct supervisor *sv, struct sv_process *p, struct sv_qthread *qt, int status)
{
        int sig = WSTOPSIG(status), event = status >> 16;
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
                        struct iovec iov = { &t.regs, sizeof t.regs };
                        if (first && ptrace(PTRACE_GETREGSET, qt->tid, (void *) NT_PRSTATUS, &iov) == 0 &&
                            arch_regs_native(iov.iov_len)) {
                                t.regs_valid = true;
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
        /* a signal-delivery-stop: the signal goes on with the thread */
        qt->sig = sig;
        if (qt->state == SVQ_PENDING || qt->stopping)
                qt->state = SVQ_STOPPED;
        else
                sv_q_resume(qt);
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
static bool sv_q_poll(struct supervisor *sv, struct sv_process *p)
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

/* Process p begins to exit: seize and interrupt every thread but the held
 * ones, at once, then let them run quarantined through the grace period.
 * A thread we may not trace (-EPERM: the program made itself non-dumpable;
 * -EBUSY: another tracer) runs on as before, and the report says so. */
static void sv_q_start(struct supervisor *sv, struct sv_process *p)
{
        struct sv_quarantine *q = &p->q;
        q->begin_us = now_usec(CLOCK_MONOTONIC);
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
                        if (ptrace(PTRACE_SEIZE, qt->tid, 0, (void *) (long) PTRACE_O_TRACESYSGOOD) < 0) {
                                int e = errno;
                                qt->state = SVQ_GONE;
                                if (sv_q_thread_exists(p->pid, qt->tid) && !q->error)
                                        q->error = e == EPERM ? -EPERM : -e;
                                continue;
                        }
                        q->active = true;
                        if (ptrace(PTRACE_INTERRUPT, qt->tid, 0, 0) < 0)
                                qt->state = SVQ_GONE;   /* gone already */
                        added++;
                }
                if (added == 0)
                        break;
        }
        if (!q->active)
                return;
        /* a thread that waits for our answer (its own exit) stops only
         * later: the loop takes its stop then */
        sv_q_wait(sv, p, 50);
        if (sv->opts->grace_ms == 0)
                return;         /* judged at once, as they stand */
        for (size_t i = 0; i < q->n; i++) {
                struct sv_qthread *qt = &q->threads[i];
                if (qt->state == SVQ_STOPPED && !qt->group_stop)
                        sv_q_resume(qt);
        }
}

/* Stops p's quarantined threads that still run, for the snapshot. */
static void sv_q_stop_all(struct supervisor *sv, struct sv_process *p)
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
static bool sv_q_busy(struct sv_process *p, pid_t tid)
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
static char *sv_q_describe_call(const struct sv_qthread *qt)
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
static bool sv_q_hold_clone(struct supervisor *sv, const struct seccomp_notif *n)
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
static int sv_q_redo_exit_group(struct sv_process *p, uint64_t syscall_end, int code)
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
                    ptrace(PTRACE_GETREGS, qt->tid, 0, &regs) < 0)
                        continue;
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                if (ptrace(PTRACE_SETREGS, qt->tid, 0, &regs) == 0 && ptrace(PTRACE_DETACH, qt->tid, 0, 0) == 0) {
                        qt->state = SVQ_GONE;
                        return 0;
                }
        }
        return -ESRCH;
}

/* Whether tid is a quarantined thread we still trace. */
static bool sv_q_traces(const struct supervisor *sv, pid_t tid)
{
        for (size_t i = 0; i < sv->n_procs; i++) {
                const struct sv_quarantine *q = &sv->procs[i].q;
                for (size_t k = 0; q->active && k < q->n; k++)
                        if (q->threads[k].tid == tid && q->threads[k].state != SVQ_GONE)
                                return true;
        }
        return false;
}

/* The loop must stop an exiting process's threads the moment its exit
 * arrives (the quarantine): on a busy machine a loop thread of ordinary
 * priority can wait tens of milliseconds for a CPU while they run on.  So
 * it runs at the receiver's real-time priority where that is allowed, and
 * drops it only for the long analysis of a snapshot, which must not starve
 * the machine.  realtime: the priority to take. */
static void sv_loop_priority(bool realtime)
{
        struct sched_param sp = { .sched_priority = realtime ? 1 : 0 };
        /* the guardian, if started late, must not inherit it */
        (void) pthread_setschedparam(pthread_self(), realtime ? SCHED_FIFO | SCHED_RESET_ON_FORK : SCHED_OTHER,
                                     &sp);
}

/* Snapshots process pid (held threads as /proc shows them) and adds it to
 * the report.  everything_leaks: the --timeout report, where every thread
 * counts, the main one included.  A failure is the report's, not ours: it
 * goes into the process's inspect_error, and the program's own status
 * stands.  Returns 0, or -ENOMEM when not even that could be recorded. */
static int sv_judge(struct supervisor *sv, pid_t pid, const pid_t *held, size_t n_held, bool everything_leaks)
{
        struct leakscan_process *lp = sv_report_add(sv);
        if (!lp)
                return -ENOMEM;
        lp->pid = pid;
        inspect_read_identity(lp);

        /* quarantined threads: the stopped ones are read as they stand, the
         * others (waiting for our answer, or asleep in D) from /proc */
        struct sv_process *sp = sv_find_process(sv, pid);
        struct sv_quarantine *q = sp && sp->q.active && !sp->q.released ? &sp->q : NULL;
        _cleanup_free_ pid_t *proc_read = NULL, *preseized = NULL;
        size_t n_proc_read = n_held, n_preseized = 0;
        if (q) {
                sv_q_stop_all(sv, sp);
                proc_read = calloc(n_held + q->n + 1, sizeof *proc_read);
                preseized = calloc(q->n + 1, sizeof *preseized);
                if (!proc_read || !preseized)
                        return -ENOMEM;
                if (n_held)
                        memcpy(proc_read, held, n_held * sizeof *held);
                for (size_t i = 0; i < q->n; i++) {
                        const struct sv_qthread *qt = &q->threads[i];
                        if ((qt->state == SVQ_STOPPED || qt->state == SVQ_HELD) && !qt->in_notif)
                                preseized[n_preseized++] = qt->tid;
                        else if (qt->state != SVQ_GONE)
                                proc_read[n_proc_read++] = qt->tid;
                }
                held = proc_read;
                lp->has_exit_stop = q->has_stop_us;
                lp->exit_stop_us = q->stop_us;
        }
        if (sp && sp->q.error && !lp->inspect_error) {
                char buf[320];
                snprintf(buf, sizeof buf, "threads ran on unquarantined after its exit began: leakscan %s",
                         sp->q.error == -EPERM ? "may not trace them (a non-dumpable process needs CAP_SYS_PTRACE)" :
                         sp->q.error == -EBUSY ? "could not trace one, already traced by another process" :
                         "could not trace one");
                lp->inspect_error = strdup(buf);
        }

        struct process_capture *cap = NULL;
        int r = inspect_snapshot_preseized(pid, &sv->opts->inspect, held, n_proc_read, preseized, n_preseized, &cap);
        if (r < 0) {
                lp->not_inspected = true;
                free(lp->inspect_error);
                lp->inspect_error = sv_describe_judge_error(pid, r, true);
                return 0;
        }
        /* a thread stopped at a syscall's entry: described as in that call
         * (a held one's live registers were rewritten: see sv_q_hold) */
        for (size_t i = 0; q && i < q->n; i++) {
                const struct sv_qthread *qt = &q->threads[i];
                struct thread_capture *t = process_capture_find(cap, qt->tid);
                if (!t || t->vanished || !t->regs_valid || qt->in_notif)
                        continue;
                /* our first stop woke it from that wait, and the scheduler's
                 * last-ran time is now ours: how long it had waited before
                 * is unknown, not 0 */
                if (qt->woken)
                        t->has_exec_start = false;
                /* restart_syscall resumes the last call our stops ended:
                 * name that one (its arguments are still in the registers) */
                if (t->syscall_nr == SYS_restart_syscall && qt->last_call >= 0)
                        t->syscall_nr = qt->last_call;
                if (!(qt->at_entry && (qt->state == SVQ_STOPPED || qt->state == SVQ_HELD)))
                        continue;
                arch_regs_at_syscall_entry(&t->regs, qt->nr, qt->args, qt->entry_pc);
                t->syscall_nr = qt->nr == SYS_restart_syscall && qt->last_call >= 0 ? qt->last_call : qt->nr;
                /* the file its fd argument names (capture_fds saw no call) */
                int fd_arg = syscalls_fd_arg(qt->nr);
                char path[64], target[512];
                snprintf(path, sizeof path, "/proc/%d/fd/%d", (int) pid, fd_arg >= 0 ? (int) qt->args[fd_arg] : -1);
                ssize_t len = fd_arg >= 0 && !t->fd_target ? readlink(path, target, sizeof target - 1) : -1;
                if (len > 0) {
                        target[len] = 0;
                        t->fd_target = strdup(target);
                }
        }
        lp->n_vanished = cap->n_vanished;
        lp->incomplete = cap->incomplete;
        lp->stopped_us = cap->stop_end_us - cap->stop_begin_us;
        for (size_t i = 0; i < cap->n_threads; i++) {
                const struct thread_capture *t = &cap->threads[i];
                if (t->seized && !t->vanished)
                        sv_add_lingering(sv, t->tid);
        }
        struct creator_lookup creators = { sv_find_creator, sv };
        int policy_before = SCHED_OTHER;
        struct sched_param param_before;
        (void) pthread_getschedparam(pthread_self(), &policy_before, &param_before);
        if ((policy_before & ~SCHED_RESET_ON_FORK) == SCHED_FIFO)
                sv_loop_priority(false);
        r = inspect_analyse(cap, &sv->opts->inspect, &creators, lp);
        if ((policy_before & ~SCHED_RESET_ON_FORK) == SCHED_FIFO)
                sv_loop_priority(true);
        process_capture_free(cap);
        for (size_t i = 0; q && r == 0 && i < lp->n_threads; i++) {
                struct leakscan_thread *lt = &lp->threads[i];
                const struct sv_qthread *qt = sv_q_find(q, lt->tid);
                if (!qt)
                        continue;
                /* read from /proc as if held in exit_group: exiting only if
                 * it is in an exit of its own */
                lt->exiting = qt->exiting ||
                        (qt->state != SVQ_STOPPED && qt->state != SVQ_HELD &&
                         (lt->syscall_nr == ARCH_SECCOMP_NATIVE->exit || lt->syscall_nr == ARCH_SECCOMP_NATIVE->exit_group));
                if (qt->state == SVQ_HELD && !qt->exiting && !qt->restarted &&
                    !(lt->held_call = sv_q_describe_call(qt)))
                        r = -ENOMEM;
        }
        if (r < 0) {
                /* what was analysed stays listed, judged by nobody */
                for (size_t i = 0; i < lp->n_threads; i++)
                        lp->threads[i].leaked = false;
                lp->not_inspected = lp->n_threads == 0;
                free(lp->inspect_error);
                lp->inspect_error = sv_describe_judge_error(pid, r, false);
                return 0;
        }
        struct judge_policy policy = sv->opts->judge ? *sv->opts->judge : (struct judge_policy) {0};
        policy.mode = everything_leaks ? JUDGE_TIMEOUT : JUDGE_AT_EXIT;
        return judge_process(lp, &policy);
}

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
static void sv_note_reaped(struct supervisor *sv, pid_t tid, int status)
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
static int sv_redo_exit_group(struct supervisor *sv, const struct sv_process *p, uint64_t syscall_end, int code)
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
                if (w != tid || !WIFSTOPPED(status) || ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
                        /* a thread that does not stop (uninterruptible
                         * sleep): leave it, another may */
                        if (ptrace(PTRACE_DETACH, tid, 0, 0) < 0 && errno == ESRCH && w != tid)
                                sv_add_lingering(sv, tid);
                        continue;
                }
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                if (ptrace(PTRACE_SETREGS, tid, 0, &regs) == 0)
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
        if (ptrace(PTRACE_GETREGS, tid, 0, &regs) == 0) {
                arch_regs_set_syscall(&regs, syscall_end - ARCH_SYSCALL_INSN_LEN, ARCH_SECCOMP_NATIVE->exit_group,
                                      (uint64_t) code);
                (void) ptrace(PTRACE_SETREGS, tid, 0, &regs);
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
static void sv_release_held(struct supervisor *sv, struct sv_process *p)
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

static pid_t *sv_held_tids(const struct sv_process *p)
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
        for (size_t i = 0; i < n; i++)
                if (!sv_is_held(p, tids[i]) && sv_q_busy(p, tids[i]))
                        return true;
        return false;
}

/* One grace check of an exiting process: judge it once nothing can change
 * any more by itself, or the grace period is over. */
static int sv_grace_check(struct supervisor *sv, struct sv_process *p, uint64_t now)
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
        sv_release_held(sv, p);
        return r;
}

static struct sv_process *sv_find_process(struct supervisor *sv, pid_t pid)
{
        for (size_t i = 0; i < sv->n_procs; i++)
                if (sv->procs[i].pid == pid)
                        return &sv->procs[i];
        return NULL;
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

/* A thread waits in exit_group, or (in_exit) in the exit that libc's _exit
 * made after a signal undid an exit_group we never received. */
static int sv_on_exit_group(struct supervisor *sv, const struct seccomp_notif *n, bool in_exit)
{
        pid_t tid = (pid_t) n->pid;
        pid_t tgid = tid_tgid(tid);
        if (tgid != sv->main_pid && !sv->opts->follow_forks)
                tgid = 0;
        struct sv_process *p = tgid ? sv_find_process(sv, tgid) : NULL;
        if (!tgid || sv->result.timed_out || (p && p->phase == SV_JUDGED && !in_exit)) {
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

/* A thread waits in exit.  Ordinary thread ends go on at once.  But a
 * thread that called exit_group and waits in exit now had its exit_group
 * undone by a signal (a kernel without killable waits, or a signal that came
 * before we received the notification), and this is glibc's _exit falling
 * back: hold it, and have the exit_group made again on release
 * (sv_release_held).  Returns whether it was held. */
static void sv_on_exit(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tid = (pid_t) n->pid;
        for (size_t i = 0; i < sv->n_procs; i++) {
                struct sv_process *p = &sv->procs[i];
                for (size_t j = 0; j < p->n_holds; j++) {
                        struct sv_hold *h = &p->holds[j];
                        if (h->tid != tid || tid_tgid(tid) != p->pid)
                                continue;
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
                pid_t tgid = tid_tgid(tid);
                if (tgid && (tgid == sv->main_pid || sv->opts->follow_forks) &&
                    sv_is_exit_function(sv, tgid, n->data.instruction_pointer)) {
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
static void sv_on_strict(struct supervisor *sv, const struct seccomp_notif *n)
{
        pid_t tgid = tid_tgid((pid_t) n->pid);
        sv->result.strict_seccomp = true;
        if (tgid > 0 && kill(tgid, SIGKILL) == 0)
                return;
        sv_respond_continue(sv, n->id);
}

/* ---- the receiver ----
 * A held call is safe from signals only once it was received
 * (WAIT_KILLABLE_RECV); until then any signal undoes it.  So a thread of
 * ours does nothing but receive, at once (at real-time priority where that
 * is allowed, so that a busy machine does not delay it), and queues what it
 * received on a pipe for the event loop, which may be busy judging another
 * process for a while.  It is stopped by SIGURG, which only it unblocks, and
 * ends by itself once no task uses the filter (sv_listener_unused). */

static void receiver_wake(int sig)
{
        (void) sig;
}

/* Whether no task uses the filter of listener any more: then nothing will
 * ever be received from it.  Since Linux 6.11 SECCOMP_IOCTL_NOTIF_RECV
 * returns at once (ENOENT) on such a listener instead of waiting, so a
 * receiver that retried would spin, at real-time priority, starving other
 * receivers (other leakscans) of the CPU until we stopped it. */
static bool sv_listener_unused(int listener)
{
        struct pollfd pfd = { listener, POLLIN, 0 };
        return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void *receiver_main(void *arg)
{
        struct supervisor *sv = arg;
        struct sched_param sp = { .sched_priority = 1 };
        (void) pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        sigset_t wake;
        sigemptyset(&wake);
        sigaddset(&wake, SIGURG);
        pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
        while (!sv->receiver_stop) {
                struct seccomp_notif n;
                memset(&n, 0, sizeof n);
                if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
                        if (errno == ENOENT && sv_listener_unused(sv->listener))
                                break;
                        if (errno == EINTR || errno == ENOENT)
                                continue;
                        break;
                }
                if (sv->guardian && (!sv->guardian->known || (int64_t) (n.id - sv->guardian->hi) > 0)) {
                        if (!sv->guardian->known)
                                sv->guardian->lo = n.id;
                        sv->guardian->hi = n.id;
                        sv->guardian->known = 1;
                }
                /* 80 bytes: one atomic pipe write */
                if (write(sv->queue[1], &n, sizeof n) != (ssize_t) sizeof n)
                        sv_respond_continue(sv, n.id);
        }
        return NULL;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/* Asks the kernel (6.6+, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) to wake the
 * receiver on the CPU of the thread that notifies, which goes to sleep at
 * once, rather than wherever the receiver slept: a context switch rather
 * than a wake-up across CPUs (for a receiver without real-time priority, one
 * that waits its turn there).  Answers wake the notifying thread on our CPU
 * in the same way.  On older kernels nothing (EINVAL). */
static void sv_sync_wake_up(int listener)
{
        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64) SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
}

static int sv_start_receiver(struct supervisor *sv)
{
        if (pipe2(sv->queue, O_CLOEXEC) < 0)
                return -errno;
        (void) fcntl(sv->queue[0], F_SETFL, O_NONBLOCK);
        struct sigaction sa = { .sa_handler = receiver_wake };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGURG, &sa, NULL);
        int r = -pthread_create(&sv->receiver, NULL, receiver_main, sv);
        if (r < 0) {
                close(sv->queue[0]);
                close(sv->queue[1]);
                sv->queue[0] = sv->queue[1] = -1;
                return r;
        }
        sv->receiver_running = true;
        return 0;
}

/* Stops the receiver; what it queued and nobody handled is answered
 * "continue". */
static void sv_stop_receiver(struct supervisor *sv)
{
        if (!sv->receiver_running)
                return;
        sv->receiver_stop = 1;
        /* again and again: the signal may come just before it blocks */
        for (;;) {
                pthread_kill(sv->receiver, SIGURG);
                struct timespec deadline;
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_nsec += 10 * 1000 * 1000;
                if (deadline.tv_nsec >= 1000000000) {
                        deadline.tv_sec++;
                        deadline.tv_nsec -= 1000000000;
                }
                if (pthread_timedjoin_np(sv->receiver, NULL, &deadline) == 0)
                        break;
        }
        sv->receiver_running = false;
        signal(SIGURG, SIG_DFL);
        struct seccomp_notif n;
        while (read(sv->queue[0], &n, sizeof n) == (ssize_t) sizeof n)
                sv_respond_continue(sv, n.id);
}

static int sv_on_notification(struct supervisor *sv)
{
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (sv->receiver_running) {
                ssize_t got = read(sv->queue[0], &n, sizeof n);
                if (got != (ssize_t) sizeof n)
                        return got < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
        } else if (ioctl(sv->listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
                return errno == ENOENT || errno == EINTR ? 0 : -errno;
        }
        sv_publish_pending(sv, n.id);
        if (sv->have_last_id && n.id - sv->last_id > 1 && n.id - sv->last_id < (1u << 30))
                sv->n_lost += n.id - sv->last_id - 1;
        sv->last_id = n.id;
        sv->have_last_id = true;
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

/* --timeout: report every thread of the program, then kill it. */
static void sv_on_timeout(struct supervisor *sv)
{
        sv->result.timed_out = true;
        sv->report->mode = "timeout";
        if (!sv->main_ended) {
                struct sv_process *p = sv_find_process(sv, sv->main_pid);
                _cleanup_free_ pid_t *held = p && p->phase == SV_EXITING ? sv_held_tids(p) : NULL;
                (void) sv_judge(sv, sv->main_pid, held, held ? p->n_holds : 0, true);
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

/* ---- the guardian ----
 * Without a listener, every call the filter sends to it fails with ENOSYS:
 * a program whose supervisor died could create no thread and never exit.
 * So a second holder of the listener lives from the start: a child of ours
 * in a session of its own (no terminal or process-group signal reaches it), with no other fd
 * (a test runner waiting for the end of stdout does not wait for it), and
 * all signals blocked.  It sleeps until the pipe whose other end only the
 * supervisor holds ends, which the kernel does when the supervisor ends or
 * dies, however.  Then it answers "continue" to whatever the supervisor had
 * received and left unanswered (ids from the shared page) and to everything
 * after, until no task uses the filter any more.  It can say nothing else. */

#define GUARDIAN_PROBE_AHEAD 64         /* received but not yet published */
#define GUARDIAN_PROBE_MAX (1u << 20)

/* Closes every fd but a and b (which may be equal). */
static void close_all_but(int a, int b)
{
        unsigned lo = (unsigned) (a < b ? a : b), hi = (unsigned) (a < b ? b : a);
        bool ok = (lo == 0 || syscall(SYS_close_range, 0u, lo - 1, 0u) == 0) &&
                  (hi <= lo + 1 || syscall(SYS_close_range, lo + 1, hi - 1, 0u) == 0) &&
                  syscall(SYS_close_range, hi + 1, ~0u, 0u) == 0;
        for (int fd = 0; !ok && fd < 65536; fd++)
                if (fd != a && fd != b)
                        close(fd);
}

static void guardian_answer(int listener, uint64_t id)
{
        struct seccomp_notif_resp resp = { .id = id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static _Noreturn void guardian_main(int listener, int life, const struct guardian_page *page)
{
        setsid();
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        prctl(PR_SET_NAME, "leakscan-guard", 0, 0, 0);
        close_all_but(listener, life);

        /* events 0 on the listener: POLLHUP alone, once no task uses it */
        struct pollfd pfd[2] = { { life, POLLIN, 0 }, { listener, 0, 0 } };
        for (;;) {
                if (poll(pfd, 2, -1) < 0 && errno != EINTR)
                        _exit(1);
                if (pfd[1].revents & (POLLHUP | POLLERR))
                        _exit(0);
                if (pfd[0].revents)
                        break;
        }
        if (page->known)
                for (uint64_t id = page->lo, k = 0; id != page->hi + GUARDIAN_PROBE_AHEAD && k < GUARDIAN_PROBE_MAX;
                     id++, k++)
                        guardian_answer(listener, id);
        pfd[1].events = POLLIN;
        for (;;) {
                pfd[1].revents = 0;
                if (poll(&pfd[1], 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(1);
                }
                if (pfd[1].revents & (POLLHUP | POLLERR | POLLNVAL))
                        _exit(0);
                struct seccomp_notif n;
                memset(&n, 0, sizeof n);
                if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) == 0)
                        guardian_answer(listener, n.id);
        }
}

/* Starts the guardian of sv->listener.  Returns 0 or a negative errno. */
static int sv_start_guardian(struct supervisor *sv)
{
        struct guardian_page *page = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                                          -1, 0);
        if (page == MAP_FAILED)
                return -errno;
        int life[2];
        if (pipe2(life, O_CLOEXEC) < 0) {
                int r = -errno;
                munmap(page, sizeof *page);
                return r;
        }
        pid_t pid = fork();
        if (pid == 0)
                guardian_main(sv->listener, life[0], page);
        int r = pid < 0 ? -errno : 0;
        close(life[0]);
        if (r < 0) {
                close(life[1]);
                munmap(page, sizeof *page);
                return r;
        }
        sv->guardian = page;
        sv->guardian_pipe = life[1];
        sv->guardian_pid = pid;
        return 0;
}

/* The supervisor is done with the listener: the guardian answers from now
 * on (descendants may outlive the program), or, if it could not be started
 * at the beginning, one started now.  When nothing uses the filter any more
 * it ends at once, and is reaped here; otherwise it outlives us. */
static void sv_hand_off_listener(struct supervisor *sv)
{
        sv_stop_receiver(sv);
        if (sv->guardian_pipe < 0 && (sv->guardian || sv_start_guardian(sv) < 0))
                return;
        close(sv->guardian_pipe);
        sv->guardian_pipe = -1;
        struct pollfd pfd = { sv->listener, 0, 0 };
        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP))
                while (waitpid(sv->guardian_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

/* The child has installed the filter and waits to exec: the guardian starts
 * now, so that it holds the listener before the program can run, and learns
 * the first notification's id. */
static void sv_on_listener(void *userdata, int listener, const struct seccomp_notif *first)
{
        struct supervisor *sv = userdata;
        sv->listener = listener;
        (void) sv_start_guardian(sv);   /* if not now, at the end */
        sv->listener = -1;              /* ours once spawn succeeds */
        if (!first)
                return;
        /* from here the guardian knows the ids to answer if we die, even
         * before we published one more */
        if (sv->guardian) {
                sv->guardian->lo = sv->guardian->hi = first->id;
                sv->guardian->known = 1;
        }
        sv->last_id = first->id;
        sv->have_last_id = true;
}

static void supervisor_free(struct supervisor *sv)
{
        for (size_t i = 0; i < sv->n_creators; i++)
                free(sv->creators[i].creator.stack);
        free(sv->creators);
        free(sv->creator_index);
        clone_sites_free(&sv->clone_sites);
        for (size_t i = 0; i < sv->n_procs; i++) {
                free(sv->procs[i].holds);
                free(sv->procs[i].q.threads);
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

/* ---- which signals to pass on ----
 * A signal sent to leakscan alone is meant for the program and must be
 * passed on; one sent to the process group (the terminal's ^C, a test
 * runner's killpg, coreutils timeout's second kill) reached the program
 * already, and passing it on would deliver it twice.  Nothing in siginfo
 * tells the two apart, so a probe does: a child of ours in the same process
 * group, started before the program, that blocks every signal and does
 * nothing.  A group signal reaches it (before us: the kernel signals a
 * group's members in one go, newest first), a signal sent to us does not.  After each batch the probe drains what it
 * got, on our request over a socket (so that its death cannot raise
 * SIGPIPE here). */

static _Noreturn void probe_main(int sock)
{
        sigset_t all;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, NULL);
        prctl(PR_SET_NAME, "leakscan-probe", 0, 0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        close_all_but(sock, sock);
        char c;
        while (read(sock, &c, 1) == 1) {
                struct timespec zero = { 0, 0 };
                while (sigtimedwait(&all, NULL, &zero) > 0)
                        ;
                if (send(sock, &c, 1, MSG_NOSIGNAL) != 1)
                        break;
        }
        _exit(0);
}

static int sv_start_probe(struct supervisor *sv)
{
        int sock[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid == 0)
                probe_main(sock[1]);
        int r = pid < 0 ? -errno : 0;
        close(sock[1]);
        if (r < 0) {
                close(sock[0]);
                return r;
        }
        sv->probe_pid = pid;
        sv->probe_sock = sock[0];
        return 0;
}

static void sv_stop_probe(struct supervisor *sv)
{
        if (sv->probe_sock < 0)
                return;
        close(sv->probe_sock);
        sv->probe_sock = -1;
        kill(sv->probe_pid, SIGKILL);
        while (waitpid(sv->probe_pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/* Whether the probe has signal sig pending: it was sent to the group.
 * Returns 1, 0, or a negative errno. */
static int sv_probe_saw(const struct supervisor *sv, int sig)
{
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/status", (int) sv->probe_pid);
        if (read_full_file(path, &text) < 0)
                return -ESRCH;
        const char *p = strstr(text, "\nShdPnd:");
        if (!p)
                return -EINVAL;
        unsigned long long mask = strtoull(p + strlen("\nShdPnd:"), NULL, 16);
        return sig >= 1 && sig <= 64 && (mask >> (sig - 1)) & 1;
}

/* Asks the probe to drain its signals and waits for it, briefly: a probe
 * that does not answer (stopped by SIGSTOP, which nobody can block) is
 * dropped, and the simpler rule applies from then on. */
static void sv_probe_drain(struct supervisor *sv)
{
        char c = 'd';
        struct pollfd pfd = { sv->probe_sock, POLLIN, 0 };
        if (sv->probe_sock < 0 || send(sv->probe_sock, &c, 1, MSG_NOSIGNAL) != 1 ||
            poll(&pfd, 1, 200) != 1 || recv(sv->probe_sock, &c, 1, MSG_DONTWAIT) != 1)
                sv_stop_probe(sv);
}

/* Whether a signal leakscan received should be passed on to the program. */
static bool sv_should_forward(const struct supervisor *sv, const struct signalfd_siginfo *si)
{
        if (si->ssi_signo == SIGCHLD || sv->main_ended)
                return false;
        int saw = sv->probe_sock >= 0 ? sv_probe_saw(sv, (int) si->ssi_signo) : -ESRCH;
        if (saw >= 0)
                return !saw;
        /* without a probe: the terminal signals the whole group */
        return si->ssi_code != SI_KERNEL;
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
        struct supervisor sv = { .opts = opts, .listener = -1, .guardian_pipe = -1, .probe_sock = -1,
                                 .queue = { -1, -1 } };
        *ret_failed = SUPERVISE_STEP_START;
        sv.report = calloc(1, sizeof *sv.report);
        if (!sv.report)
                return -ENOMEM;
        sv.report->mode = "at-exit";

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
        /* where the wait is interruptible, only a ptrace stop protects a
         * held call, and the loop must take it at once itself */
        if (sv.killable_wait)
                (void) sv_start_receiver(&sv);  /* if not, the loop receives */
        sv_loop_priority(true);         /* if allowed: see there */
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
                                        kill(sv.main_pid, (int) si.ssi_signo);
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
        sv_loop_priority(false);
out:
        if (r < 0 && sv.guardian_pipe >= 0) {
                /* the program never ran: its guardian ends at once */
                close(sv.guardian_pipe);
                sv.guardian_pipe = -1;
                while (waitpid(sv.guardian_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
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
