/* Judge: the one step that decides which threads are leaks.  It runs after
 * analyse and before report, takes an analysed process and a policy, and is
 * the only code that writes a thread's `verdict`, `leaked` and `ignored_by`:
 * the passes before it write only facts (see docs/design.md, "Who writes
 * what").
 *
 * The order, in every mode:
 *   1. the verdict: from classify's state and timeout (running, timed,
 *      blocked) unless analyse proposed deadlock or orphaned; in pid mode a
 *      blocked thread whose wait object the reachability scan proved
 *      unreachable becomes UNREACHABLE, and any other blocked thread IDLE;
 *   2. the leak rule of the mode (a kernel worker, io_uring's, is never a
 *      leak):
 *      pid      proven stuck (deadlock, orphaned, unreachable), whatever
 *               --min-blocked says; the main thread only on a deadlock cycle
 *               of its own; with --idle also idle threads blocked at least
 *               --min-blocked (or for an unknown time);
 *      at-exit  every thread alive but those calling exit_group and those
 *               joining one of them;
 *      timeout  every thread but those calling exit_group;
 *      verify   (a test's end, leakscan_verify_none) every thread alive but
 *               the calling one, the main one and the baseline's: those are
 *               not the test's, and are left out silently;
 *   3. ignores, only for leaked threads: the baseline (threads that were
 *      there before), then the rules in the order given (command line,
 *      suppressions files, then the built-in runtime ignores).
 * A thread ignored stays in the report with the reason in ignored_by. */
#ifndef LEAKSCAN_JUDGE_H
#define LEAKSCAN_JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "baseline.h"
#include "leakscan/leakscan.h"
#include "rules.h"

enum judge_mode {
        JUDGE_PID,              /* a live process: only what is proven */
        JUDGE_AT_EXIT,          /* the process is exiting: everything alive */
        JUDGE_TIMEOUT,          /* --timeout struck: everything, main included */
        JUDGE_VERIFY,           /* leakscan_verify_none: everything alive but the
                                 * caller, the main thread and the baseline's */
};

struct judge_policy {
        enum judge_mode mode;
        bool idle;                      /* pid: idle threads are leaks too (--idle) */
        int64_t min_blocked_ms;         /* pid with idle: how long blocked at least */
        const struct rule_set *rules;   /* may be NULL */
        const struct baseline *baseline;        /* may be NULL */
        pid_t caller;                   /* verify: the thread that asks */
};

/* Judges every thread of p under policy.  Returns 0 or -ENOMEM. */
int judge_process(struct leakscan_process *p, const struct judge_policy *policy);

/* Gives every thread of p its verdict (step 1, no pid-mode idle) and leaks
 * none: for a process whose analysis failed, listed but judged by no
 * policy. */
void judge_nothing_leaked(struct leakscan_process *p);

/* Judges every process of report under policy.  Returns 0 or -ENOMEM. */
int judge_report(struct leakscan_report *report, const struct judge_policy *policy);

/* The leak rule of step 2 for one thread of p, without ignores: for the unit
 * tests and for the report's summary of idle threads. */
bool judge_is_leak(const struct leakscan_process *p, const struct leakscan_thread *t,
                   const struct judge_policy *policy);

#endif
