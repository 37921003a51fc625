/* The parts of the --at-exit supervisor (src/exit/) and what each takes
 * and gives.  Internal: supervise.h is the interface.  One struct
 * supervisor is shared by all parts, owned by supervise_run (supervise.c);
 * each part's functions are listed under the file that defines them, whose
 * comments say what they return and who owns what. */
#ifndef LEAKSCAN_EXIT_EXIT_H
#define LEAKSCAN_EXIT_EXIT_H

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
#include "python.h"
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
        struct python_stack *python;    /* its Python frames, or NULL */
};

/* A process's interpreter, for creator stacks' Python frames. */
struct sv_python {
        pid_t tgid;
        struct python_snapshot *py;     /* NULL: it runs no CPython we read */
        int pidfd;              /* the process, -1 for the main one: ended,
                                 * its pid may be another process's */
        uint64_t ips[4];        /* where its creations' syscalls were made */
        unsigned n_ips;
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
        bool seized;            /* traced, never stopped: see sv_q_seize_held */
};

/* Where a thread of an exiting process stands in its quarantine (see
 * "the quarantine" below). */
enum sv_qstate {
        SVQ_PENDING,            /* seized and interrupted, not stopped yet */
        SVQ_STOPPED,            /* in a ptrace stop we keep */
        SVQ_FREE,               /* running, stopped at each syscall */
        SVQ_HELD,               /* held before a call with an effect outside,
                                 * or at a signal (held_sig) */
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
        int held_sig;           /* HELD at the delivery of this signal, or 0 */
        int held_sig_code;      /* its si_code, */
        uint64_t held_sig_pc, held_sig_addr;    /* where, and its si_addr */
        bool ended;             /* ended during the grace: it finished */
        bool asleep;            /* in an indefinite wait at the trap: stopped
                                 * there for good, never resumed */
        bool armed;             /* made to call exit_group if let go */
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
        struct leakscan_process *trap;  /* the process as it stood at the trap,
                                         * analysed and judged, or NULL */
        bool trap_taken;        /* the trap snapshot was taken */
        bool past_trap;         /* its copy is made: stopped threads may be
                                 * armed (sv_q_arm) */
        bool trap_failed;       /* it failed, as trap->inspect_error says */
};

/* A process with threads held in exit_group. */
struct sv_process {
        pid_t pid;
        int pidfd;              /* the process, until it is seen gone; -1 */
        bool gone;              /* its pidfd said it ended: its pid may be
                                 * another process's now */
        enum sv_phase phase;
        int exit_code;          /* exit_group's argument */
        struct sv_hold *holds;  /* kept once answered: see sv_on_exit */
        size_t n_holds;
        bool exit_redone;       /* exit_group was called again for it */
        bool no_grace;          /* --grace=0: judged as the trap found it */
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
        int listener, life;     /* the guardian's, read once at its start */
};

/* A thread's use of the CPU over a window (sv_realtime_budget). */
struct sv_busy {
        uint64_t window_start_us;       /* 0: none yet */
        uint64_t cpu_start_us;          /* the thread's CPU time then */
};

/* A helper process that shares our memory (helper.c). */
struct sv_helper {
        pid_t pid;              /* 0: none */
        void *stack;            /* unmapped only once it was reaped */
        size_t stack_size;
};

struct supervisor {
        const struct supervise_options *opts;
        int listener;
        pid_t main_pid;
        int main_pidfd;         /* the program's main process, or -1: signals
                                 * that must never reach a reused PID */
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
        struct sv_helper guardian_helper;
        char *loop_error;       /* why the supervision stopped early, or NULL */
        bool killable_wait;     /* held calls wait through signals (5.19+) */
        struct sv_helper probe; /* see sv_should_forward */
        int probe_sock;
        int probe_args[2];      /* its socket and our pid, read at its start */
        uint64_t last_id;       /* of the last notification received (the
                                 * receiver's while it runs) */
        bool have_last_id;
        uint64_t n_lost;        /* notifications a signal undid before we got
                                 * them: ids are consecutive, these are gaps */
        struct exit_site { pid_t tgid; uint64_t ip; bool in_exit_fn; } *exit_sites;
        size_t n_exit_sites;
        pthread_t receiver;     /* see receiver_main */
        bool receiver_running;
        struct sv_busy receiver_busy, loop_busy;        /* sv_realtime_budget */
        volatile sig_atomic_t receiver_stop;
        int queue[2];           /* received notifications (struct sv_queued),
                                 * receiver -> loop */
        int receiver_clones;    /* atomic: the receiver answers thread
                                 * creations itself (see receiver.c); once 0,
                                 * for good */
        pthread_mutex_t receiver_clone_lock;    /* held while it does */
        bool receiver_clones_done;      /* the loop has seen them end */
        bool main_reaped;       /* the program's end was reaped as a tracee's: */
        int main_reaped_status; /* see sv_note_reaped */
        size_t *creator_index;  /* open addressing on (tgid, tls): 1 + index */
        size_t creator_index_size;      /* into creators, 0 empty; a power of two */
        struct clone_sites clone_sites; /* where creators' stack pointers come from */
        struct sv_python *pythons;      /* by process, looked up on its first creation */
        size_t n_pythons;
        int creator_sp_mode;    /* 0 not read yet, 1 derived where it can, 2 /proc
                                 * only (LEAKSCAN_CREATOR_SP=proc: a diagnostic) */
};

/* An address's offset in its page: the part ASLR leaves alone (it moves
 * libraries by pages of at least 4 KiB). */
#define SV_PAGE_OFFSET_MASK 0xfffu

/* What a notification asks about. */
enum sv_call { SV_CALL_OTHER, SV_CALL_EXIT_GROUP, SV_CALL_EXIT, SV_CALL_CLONE, SV_CALL_CLONE3, SV_CALL_STRICT };

/* seccomp.c: the filter (install_filter, in the child) and what a notification asks about */
enum sv_call sv_call_of(const struct seccomp_data *d);
void sv_learn_thread_exit(void);
/* Whether sv_learn_thread_exit learned where a thread ends, and where (the
 * offset in its page of the address after the syscall instruction). */
bool sv_thread_exit_site(uint32_t *ret_page_offset);
int install_filter(bool *ret_killable);

/* spawn.c: the program started, its listener in our hands */
int spawn(char **argv, char **envp, const sigset_t *child_mask,
          void (*ready)(void *userdata, int listener, const struct seccomp_notif *first), void *userdata, pid_t *ret_pid, int *ret_listener, bool *ret_killable, enum supervise_step *ret_step);

/* creators.c: the creator stack of each thread, for the snapshot */
const struct thread_capture *sv_find_creator(void *userdata, pid_t pid, const struct thread_capture *t);
const struct python_stack *sv_creator_python(void *userdata, const struct thread_capture *creator);
void sv_creators_free(struct supervisor *sv);
void sv_forget_process(struct supervisor *sv, pid_t tgid);
int tid_tgid(pid_t tid, pid_t *ret_tgid);
void sv_on_clone(struct supervisor *sv, const struct seccomp_notif *n);

/* judging.c: a snapshot of an exiting process judged into the report; answers to notifications */
struct leakscan_process *sv_report_add(struct supervisor *sv);
void sv_respond_continue(struct supervisor *sv, uint64_t id);
void sv_publish_pending(struct supervisor *sv, uint64_t in_hand);
void sv_add_lingering(struct supervisor *sv, pid_t tid);
int sv_judge(struct supervisor *sv, pid_t pid, const pid_t *held, size_t n_held, bool everything_leaks);
/* Snapshots and analyses process p the moment its exit begins, its other
 * threads stopped or asleep, into p->q.trap, which decides each thread's
 * state; resume(p) is called once the copy is made. */
void sv_judge_trap(struct supervisor *sv, struct sv_process *p, void (*resume)(struct sv_process *p));
/* Whether thread tid could be reported, as p's trap snapshot judged it
 * (true when there is none). */
bool sv_trap_could_report(const struct sv_process *p, pid_t tid);

/* quarantine.c: the other threads of an exiting process kept from acting outside it */
struct sv_qthread *sv_q_find(struct sv_quarantine *q, pid_t tid);
void sv_q_hold(struct sv_quarantine *q, struct sv_qthread *qt, bool native, int code);
bool sv_q_poll(struct supervisor *sv, struct sv_process *p);
void sv_q_start(struct supervisor *sv, struct sv_process *p);
void sv_q_stop_all(struct supervisor *sv, struct sv_process *p);
bool sv_q_busy(struct sv_process *p, pid_t tid);
char *sv_q_describe_call(const struct sv_qthread *qt);
bool sv_q_hold_clone(struct supervisor *sv, const struct seccomp_notif *n);
int sv_q_redo_exit_group(struct sv_process *p, uint64_t syscall_end, int code);
bool sv_q_traces(const struct supervisor *sv, pid_t tid);
void sv_q_resume_stopped(struct sv_process *p);

/* hold.c: exits held, checked through the grace period, and released */
void sv_note_reaped(struct supervisor *sv, pid_t tid, int status);
/* Whether tid is a thread of process pid, asked without a descriptor (a
 * path lookup): exact while pid cannot be another process's. */
bool thread_of(pid_t pid, pid_t tid);
/* The process of thread tid that the supervisor judges: 0 with *ret_tgid
 * its pid, or with 0 when it is none of ours (gone, or another process's
 * without --follow-forks); a negative errno when leakscan could not tell
 * (tid_tgid failed, and the thread is not the program's main process's). */
int sv_thread_process(struct supervisor *sv, pid_t tid, pid_t *ret_tgid);
int sv_redo_exit_group(struct supervisor *sv, const struct sv_process *p, uint64_t syscall_end, int code);
void sv_release_held(struct supervisor *sv, struct sv_process *p);
pid_t *sv_held_tids(const struct sv_process *p);
int sv_grace_check(struct supervisor *sv, struct sv_process *p, uint64_t now);
/* The newest process seen with pid (a pid the kernel gave again after a
 * judged process ended is a later entry), or NULL. */
struct sv_process *sv_find_process(struct supervisor *sv, pid_t pid);
int sv_on_exit_group(struct supervisor *sv, const struct seccomp_notif *n, bool in_exit);
void sv_on_exit(struct supervisor *sv, const struct seccomp_notif *n);
void sv_on_strict(struct supervisor *sv, const struct seccomp_notif *n);

/* receiver.c: notifications received at once and queued for the loop */
struct sv_queued {
        struct seccomp_notif n;
        uint64_t lost_before;   /* ids skipped just before it: calls a signal
                                 * undid before they were received */
};
void sv_sync_wake_up(int listener);
void sv_receiver_clones_off(struct supervisor *sv);
int sv_start_receiver(struct supervisor *sv);
void sv_stop_receiver(struct supervisor *sv);

/* helper.c: the probe and the guardian, processes that share our memory.
 * Their code calls no libc function (see there): only these. */
#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define SV_NO_STACK_PROTECTOR __attribute__((no_stack_protector))
#endif
#endif
#ifndef SV_NO_STACK_PROTECTOR
#define SV_NO_STACK_PROTECTOR
#endif
#define SV_HELPER_CODE __attribute__((no_sanitize("address", "undefined"))) SV_NO_STACK_PROTECTOR
/* Starts body(arg) in a process that shares our memory, with every signal
 * blocked; its end raises SIGCHLD.  Returns 0 and *ret, or a negative
 * errno. */
int sv_helper_start(int (*body)(void *), void *arg, struct sv_helper *ret);
/* The same with other clone flags (a thread: CLONE_THREAD and the rest),
 * child_tid for CLONE_CHILD_CLEARTID or NULL; ret->pid is the thread's id. */
int sv_helper_clone(int (*body)(void *), void *arg, unsigned long flags, pid_t *child_tid,
                    struct sv_helper *ret);
/* It was reaped (a thread: it is gone): its stack is freed. */
void sv_helper_reaped(struct sv_helper *h);
__attribute__((always_inline)) static inline SV_HELPER_CODE void sv_helper_block_signals(void)
{
        uint64_t all = ~(uint64_t) 0;
        (void) arch_raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, (long) &all, 0, sizeof all, 0, 0);
}

__attribute__((always_inline)) static inline SV_HELPER_CODE void sv_helper_close_all_but(int a, int b)
{
        unsigned lo = (unsigned) (a < b ? a : b), hi = (unsigned) (a < b ? b : a);
        bool ok = (lo == 0 || arch_raw_syscall(SYS_close_range, 0, lo - 1, 0, 0, 0, 0) == 0) &&
                  (hi <= lo + 1 || arch_raw_syscall(SYS_close_range, lo + 1, hi - 1, 0, 0, 0, 0) == 0) &&
                  arch_raw_syscall(SYS_close_range, hi + 1, ~0u, 0, 0, 0, 0) == 0;
        for (int fd = 0; !ok && fd < 65536; fd++)
                if (fd != a && fd != b)
                        (void) arch_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
}

__attribute__((always_inline)) static inline SV_HELPER_CODE void sv_helper_zero(void *p, size_t n)
{
        /* volatile: a loop the compiler would turn into a call of memset */
        volatile unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                b[i] = 0;
}

__attribute__((always_inline)) static inline SV_HELPER_CODE _Noreturn void sv_helper_exit(int status)
{
        for (;;)
                (void) arch_raw_syscall(SYS_exit, status, 0, 0, 0, 0, 0);
}

/* guardian.c: the listener answered when the supervisor is gone */
void sv_hand_off_listener(struct supervisor *sv);
void sv_on_listener(void *userdata, int listener, const struct seccomp_notif *first);

/* signals.c: which signals leakscan received are the program's to get */
int sv_start_probe(struct supervisor *sv);
void sv_stop_probe(struct supervisor *sv);
void sv_probe_drain(struct supervisor *sv);
bool sv_should_forward(const struct supervisor *sv, const struct signalfd_siginfo *si);

/* supervise.c: the priority of the loop and the receiver */
void sv_realtime(bool realtime);
void sv_realtime_pause(void);
void sv_realtime_resume(void);
void sv_realtime_budget(struct sv_busy *b);

#endif
