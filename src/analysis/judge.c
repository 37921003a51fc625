/* The judge; see judge.h for the order it decides in.  Everything before it
 * only describes a thread (its state, what it waits on, who holds that);
 * everything after it only prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "classify.h"
#include "judge.h"
#include "util.h"

static bool on_a_cycle(const struct leakscan_process *p, pid_t tid)
{
        for (size_t c = 0; c < p->n_deadlocks; c++)
                for (size_t k = 0; k < p->deadlocks[c].n; k++)
                        if (p->deadlocks[c].tids[k] == tid)
                                return true;
        return false;
}

static const struct leakscan_thread *find_thread(const struct leakscan_process *p, pid_t tid)
{
        for (size_t i = 0; tid && i < p->n_threads; i++)
                if (p->threads[i].tid == tid)
                        return &p->threads[i];
        return NULL;
}

/* Whether the thread's stack holds the C entry's call of main(). */
static bool in_c_main(const struct leakscan_thread *t)
{
        for (size_t i = 0; i < t->n_frames; i++)
                if (t->frames[i].function && (streq(t->frames[i].function, "__libc_start_call_main") ||
                                              streq(t->frames[i].function, "__libc_start_main")))
                        return true;
        return false;
}

/* Step 1: the verdict from what the passes wrote (classify's state and
 * timeout, analyse's proposal, reach's finding); in pid mode a blocked
 * thread is idle unless proven unreachable (reach_process,
 * src/analysis/reach.h).  Recomputed from those facts each time, so judging
 * again (at the exit trap, then at the end) decides the same. */
static void judge_verdict(struct leakscan_thread *t, const struct judge_policy *policy)
{
        enum leakscan_verdict v = t->proposed == LEAKSCAN_VERDICT_DEADLOCK ||
                                  t->proposed == LEAKSCAN_VERDICT_ORPHANED ? t->proposed :
                                  classify_wait_verdict(t->state, t->timeout);
        if (policy && policy->mode == JUDGE_PID && v == LEAKSCAN_VERDICT_BLOCKED)
                v = t->reach == LEAKSCAN_REACH_UNREACHABLE ? LEAKSCAN_VERDICT_UNREACHABLE :
                                                             LEAKSCAN_VERDICT_IDLE;
        t->verdict = v;
}

static bool proven_stuck(enum leakscan_verdict v)
{
        return v == LEAKSCAN_VERDICT_DEADLOCK || v == LEAKSCAN_VERDICT_ORPHANED ||
               v == LEAKSCAN_VERDICT_UNREACHABLE;
}

bool judge_is_leak(const struct leakscan_process *p, const struct leakscan_thread *t,
                   const struct judge_policy *policy)
{
        /* io_uring's workers are the kernel's threads in the process: they
         * come and go with the ring, never a leak of the program's */
        if (t->state == LEAKSCAN_STATE_KERNEL_WORKER)
                return false;
        switch (policy->mode) {
        case JUDGE_TIMEOUT:
                return !t->exiting;
        case JUDGE_AT_EXIT: {
                /* main, still inside the program's main(), is the
                 * process, not a thread it made: when another thread calls
                 * exit(), its wait ends with it (a server's signal thread
                 * exiting while main waits is no leak).  Not so for a Go
                 * program, whose first thread runs any goroutine. */
                if (t->exiting || (t->main && in_c_main(t)))
                        return false;
                /* joining the thread that exits: it returns as soon as that
                 * thread is gone (analyse found whom it joins) */
                const struct leakscan_thread *joined = t->state == LEAKSCAN_STATE_JOIN ?
                        find_thread(p, t->joined_tid) : NULL;
                return !(joined && joined->exiting);
        }
        case JUDGE_VERIFY:
                return !t->main && t->tid != policy->caller &&
                       !(policy->baseline && baseline_contains(policy->baseline, t->tid, t->start_time));
        case JUDGE_PID:
        default:
                if (proven_stuck(t->verdict))
                        return !t->main || on_a_cycle(p, t->tid);
                if (!policy->idle || t->main || t->verdict != LEAKSCAN_VERDICT_IDLE ||
                    t->state == LEAKSCAN_STATE_STOPPED)
                        return false;
                /* an unknown idle time counts as long enough */
                return t->blocked_ms < 0 || t->blocked_ms >= policy->min_blocked_ms;
        }
}

/* Step 3: the reason a leaked thread is not reported, as a new string in
 * *ret_reason (NULL: none).  Returns 0 or -ENOMEM. */
static int judge_ignore_reason(const struct leakscan_thread *t, const struct judge_policy *policy,
                               char **ret_reason)
{
        char *reason = NULL;
        if (policy->baseline && baseline_contains(policy->baseline, t->tid, t->start_time)) {
                if (asprintf(&reason, "baseline (%s)", policy->baseline->path) < 0)
                        return -ENOMEM;
        } else if (policy->rules) {
                const struct rule *r = rules_match(policy->rules, t);
                if (r && !(reason = rules_describe(r)))
                        return -ENOMEM;
        }
        *ret_reason = reason;
        return 0;
}

int judge_process(struct leakscan_process *p, const struct judge_policy *policy)
{
        for (size_t i = 0; i < p->n_threads; i++)
                judge_verdict(&p->threads[i], policy);
        for (size_t i = 0; i < p->n_threads; i++) {
                struct leakscan_thread *t = &p->threads[i];
                free(t->ignored_by);
                t->ignored_by = NULL;
                t->leaked = judge_is_leak(p, t, policy);
                if (!t->leaked)
                        continue;
                int r = judge_ignore_reason(t, policy, &t->ignored_by);
                if (r < 0)
                        return r;
                if (t->ignored_by)
                        t->leaked = false;
        }
        return 0;
}

void judge_nothing_leaked(struct leakscan_process *p)
{
        for (size_t i = 0; i < p->n_threads; i++) {
                judge_verdict(&p->threads[i], NULL);
                p->threads[i].leaked = false;
        }
}

int judge_report(struct leakscan_report *report, const struct judge_policy *policy)
{
        for (size_t i = 0; i < report->n_processes; i++) {
                int r = judge_process(&report->processes[i], policy);
                if (r < 0)
                        return r;
        }
        return 0;
}
