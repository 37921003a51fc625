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
 * -p does, and the kernel has not yet killed them.  The filter is inherited
 * by every descendant; one left when leakscan is done is served by a small
 * detached responder until it ends, so nothing it does ever fails. */
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
};

/* Starts argv (searched in PATH) with stdin, stdout, stderr and environment
 * untouched, supervises it until it has ended, and returns 0 with a new
 * report (mode "at-exit" or "timeout", one process per judged process) in
 * *ret_report and the main program's fate in *ret.  Returns -ENOENT or
 * -EACCES (and so on: the exec errno) when the program cannot be started, or
 * another negative errno when it cannot be supervised (-ENOSYS: a kernel
 * without seccomp user notification, before Linux 5.5). */
int supervise_run(char **argv, const struct supervise_options *opts,
                  struct leakscan_report **ret_report, struct supervise_result *ret);

#endif
