/* Supervise: run a program at full speed and judge each of its processes at
 * the moment it calls exit_group (--at-exit).
 *
 * No ptrace while the program runs.  A seccomp filter installed in the child
 * before exec sends a user notification (SECCOMP_RET_USER_NOTIF) for
 * exit_group and for thread creation (clone with CLONE_THREAD, clone3) only;
 * everything else, signals included, runs natively.  A creating thread
 * waits in its clone while its stack is copied (the "created by" stack,
 * keyed by the new thread's TLS pointer, which clone is given); an exiting
 * thread waits in its exit_group while the others are snapshotted the way
 * -p does, and the kernel has not yet killed them.  A signal cannot undo a
 * held exit: the wait is killable only (Linux 5.19), and where a signal still
 * interrupts it (older kernels, or one arriving before the supervisor took
 * the notification) glibc's fallback to exit is held and turned back into
 * exit_group; a thread's own end, exit(0) where libc ends threads, is let
 * through unasked.  The filter is inherited by every descendant; a guardian
 * process holding the listener answers "continue" once leakscan is gone,
 * whether it ended or was killed, so nothing the program does ever fails. */
#ifndef LEAKSCAN_SUPERVISE_H
#define LEAKSCAN_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>

#include "judge.h"
#include "leakscan/leakscan.h"

struct supervise_options {
        struct leakscan_options inspect;
        int64_t grace_ms;       /* let running and timed threads finish */
        int64_t timeout_ms;     /* 0: none */
        bool follow_forks;      /* judge child processes too */
        bool unwind_alone;      /* copy and unwind a process's only thread,
                                 * in its exit, too (--all); else it is
                                 * listed from /proc alone */
        size_t creator_window;  /* stack bytes copied from a thread's creator */
        char **envp;            /* the program's environment; NULL: ours */
        const struct judge_policy *judge;       /* rules and baseline; its mode
                                                 * is set per process; NULL: none */
};

void supervise_options_init(struct supervise_options *opts);

/* How the program ended. */
struct supervise_result {
        bool exited;            /* exit_code is valid */
        int exit_code;
        int exit_signal;        /* killed by this signal, or 0 */
        bool timed_out;         /* --timeout struck: everything was killed */
        bool strict_seccomp;    /* it tried to enter SECCOMP_MODE_STRICT, which
                                 * no filtered task can: it was killed */
};

/* The step at which a program could not be started under supervision:
 * three failures that must never be confused with each other, nor with the
 * program's own result. */
enum supervise_step {
        SUPERVISE_STEP_START,   /* leakscan's own setup (fork, signalfd, memory) */
        SUPERVISE_STEP_FILTER,  /* installing the seccomp filter in the child */
        SUPERVISE_STEP_EXEC,    /* executing the program: errno as execve's */
};

/* How many analysers of exiting processes died, ran out of time or
 * answered what does not parse, in this process so far (their processes'
 * inspect_error says so): leakscan then exits 3 unless the program failed. */
unsigned supervise_analysers_failed(void);

/* How many exits of the program's processes could not be judged at all,
 * because leakscan could not tell which process was exiting (out of
 * descriptors or memory; the report has an entry for each, saying so):
 * leakscan then exits 3 unless the program failed. */
unsigned supervise_unjudged(void);

/* Starts argv (searched in PATH) with stdin, stdout, stderr and environment
 * untouched, supervises it until it has ended, and returns 0 with a new
 * report (mode "at-exit" or "timeout", one process per judged process) in
 * *ret_report and the main program's fate in *ret.  Once the program runs,
 * nothing fails any more: what could not be checked is said in the report
 * (a process's inspect_error), and the program's own result stands.
 * Returns a negative errno only when the program could not be started, with
 * the step that failed in *ret_failed: SUPERVISE_STEP_EXEC with execve's
 * errno (-ENOENT, -EACCES...), SUPERVISE_STEP_FILTER (-ENOSYS or -EINVAL: a
 * kernel without seccomp user notification, before Linux 5.5; -EACCES, -EPERM:
 * seccomp is not allowed here), SUPERVISE_STEP_START for anything else.
 *
 * If leakscan dies while the program runs, a guardian process answers the
 * filter's notifications in its place: the program runs on as without it. */
int supervise_run(char **argv, const struct supervise_options *opts,
                  struct leakscan_report **ret_report, struct supervise_result *ret,
                  enum supervise_step *ret_failed);

#endif
