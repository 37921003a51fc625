/* The judge's order and leak rules, on hand-made processes. */
#include <stdlib.h>

#include "check.h"
#include "judge.h"
#include "model.h"

/* A thread as the passes before the judge leave it, for the verdict it
 * should get: classify's timeout, analyse's proposal, reach's finding. */
static struct leakscan_thread thread(pid_t tid, enum leakscan_state state, enum leakscan_verdict verdict)
{
        bool unreachable = verdict == LEAKSCAN_VERDICT_UNREACHABLE;
        return (struct leakscan_thread) {
                .tid = tid, .state = state, .timeout = verdict == LEAKSCAN_VERDICT_TIMED,
                .proposed = unreachable ? LEAKSCAN_VERDICT_BLOCKED : verdict,
                .reach = unreachable ? LEAKSCAN_REACH_UNREACHABLE : LEAKSCAN_REACH_NONE,
                .blocked_ms = 1500, .start_time = (uint64_t) tid, .wait_fd = -1, .main = tid == 100 };
}

static void process_done(struct leakscan_process *p)
{
        for (size_t i = 0; i < p->n_threads; i++)
                free(p->threads[i].ignored_by);
}

static void test_pid_mode(void)
{
        struct leakscan_thread t[] = {
                thread(100, LEAKSCAN_STATE_POLL, LEAKSCAN_VERDICT_BLOCKED),     /* main */
                thread(101, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_BLOCKED),  /* an idle worker */
                thread(102, LEAKSCAN_STATE_MUTEX, LEAKSCAN_VERDICT_DEADLOCK),
                thread(103, LEAKSCAN_STATE_MUTEX, LEAKSCAN_VERDICT_DEADLOCK),
                thread(104, LEAKSCAN_STATE_PIPE_READ, LEAKSCAN_VERDICT_ORPHANED),
                thread(105, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_UNREACHABLE),
                thread(106, LEAKSCAN_STATE_SLEEP, LEAKSCAN_VERDICT_TIMED),
                thread(107, LEAKSCAN_STATE_STOPPED, LEAKSCAN_VERDICT_BLOCKED),
        };
        pid_t cycle[] = { 102, 103 };
        struct leakscan_cycle c = { cycle, 2 };
        struct leakscan_process p = { .pid = 100, .threads = t, .n_threads = 8, .deadlocks = &c, .n_deadlocks = 1 };
        struct judge_policy policy = { .mode = JUDGE_PID, .min_blocked_ms = 1000 };

        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK_EQ_INT(t[0].verdict, LEAKSCAN_VERDICT_IDLE);
        CHECK(!t[0].leaked);
        CHECK_EQ_INT(t[1].verdict, LEAKSCAN_VERDICT_IDLE);
        CHECK(!t[1].leaked);                    /* idle workers are no leak by default */
        CHECK(t[2].leaked && t[3].leaked);      /* proven: whatever --min-blocked says */
        CHECK_EQ_INT(t[2].verdict, LEAKSCAN_VERDICT_DEADLOCK);
        CHECK(t[4].leaked);
        CHECK_EQ_INT(t[4].verdict, LEAKSCAN_VERDICT_ORPHANED);
        CHECK(t[5].leaked);
        CHECK_EQ_INT(t[5].verdict, LEAKSCAN_VERDICT_UNREACHABLE);
        CHECK(!t[6].leaked);
        CHECK_EQ_INT(t[6].verdict, LEAKSCAN_VERDICT_TIMED);
        CHECK_EQ_INT(t[7].verdict, LEAKSCAN_VERDICT_IDLE);
        CHECK(!t[7].leaked);

        /* --idle: idle threads blocked long enough, never main or stopped */
        policy.idle = true;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[0].leaked);
        CHECK(t[1].leaked);
        CHECK(!t[7].leaked);
        policy.min_blocked_ms = 2000;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[1].leaked);
        CHECK(t[2].leaked);                     /* proven, however recent */
        t[1].blocked_ms = -1;                   /* unknown: long enough */
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(t[1].leaked);

        /* the main thread only on a cycle of its own */
        t[0].proposed = LEAKSCAN_VERDICT_DEADLOCK;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[0].leaked);
        cycle[0] = 100;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(t[0].leaked);
        process_done(&p);
}

static void test_at_exit(void)
{
        struct leakscan_thread t[] = {
                thread(100, LEAKSCAN_STATE_SYSCALL, LEAKSCAN_VERDICT_BLOCKED),
                thread(101, LEAKSCAN_STATE_SLEEP, LEAKSCAN_VERDICT_TIMED),
                thread(102, LEAKSCAN_STATE_JOIN, LEAKSCAN_VERDICT_BLOCKED),
                thread(103, LEAKSCAN_STATE_JOIN, LEAKSCAN_VERDICT_BLOCKED),
                thread(104, LEAKSCAN_STATE_RUNNING, LEAKSCAN_VERDICT_RUNNING),
        };
        t[0].exiting = true;
        t[2].joined_tid = 100;                  /* joins the exiting thread: returns */
        t[3].joined_tid = 101;                  /* joins one that lives on */
        struct leakscan_process p = { .pid = 100, .threads = t, .n_threads = 5 };
        struct judge_policy policy = { .mode = JUDGE_AT_EXIT };
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[0].leaked);
        CHECK(t[1].leaked);                     /* every thread alive, timed or not */
        CHECK(!t[2].leaked);
        CHECK(t[3].leaked);
        CHECK(t[4].leaked);
        CHECK_EQ_INT(t[1].verdict, LEAKSCAN_VERDICT_TIMED);
        CHECK_EQ_INT(t[3].verdict, LEAKSCAN_VERDICT_BLOCKED);   /* no idle at exit */

        policy.mode = JUDGE_TIMEOUT;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[0].leaked);
        CHECK(t[2].leaked);

        /* io_uring's workers are the kernel's, in every mode */
        t[4].state = LEAKSCAN_STATE_KERNEL_WORKER;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK_EQ_INT(t[4].verdict, LEAKSCAN_VERDICT_IDLE);
        CHECK(!t[4].leaked);
        policy.mode = JUDGE_AT_EXIT;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[4].leaked);
        process_done(&p);
}

static void test_ignores(void)
{
        struct leakscan_frame f[] = { { .function = (char *) "flusher" } };
        struct leakscan_thread t[] = {
                thread(100, LEAKSCAN_STATE_SYSCALL, LEAKSCAN_VERDICT_BLOCKED),
                thread(101, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_BLOCKED),
                thread(102, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_BLOCKED),
                thread(103, LEAKSCAN_STATE_CONDVAR, LEAKSCAN_VERDICT_BLOCKED),
        };
        t[0].exiting = true;
        for (size_t i = 0; i < 4; i++) {
                t[i].frames = f;
                t[i].n_frames = 1;
        }
        struct rule_set rules = {0};
        CHECK_EQ_INT(rules_add(&rules, RULE_TOP, "flush*", NULL, "--ignore-top"), 0);
        struct baseline_entry entries[] = { { 102, 102 } };
        struct baseline bl = { .entries = entries, .n = 1, .path = "b" };
        struct leakscan_process p = { .pid = 100, .threads = t, .n_threads = 4 };
        struct judge_policy policy = { .mode = JUDGE_AT_EXIT, .rules = &rules, .baseline = &bl };
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(!t[0].leaked);
        CHECK(!t[0].ignored_by);                /* only leaks are ignored */
        CHECK(!t[1].leaked);
        CHECK_EQ_STR(t[1].ignored_by, "top:flush* (--ignore-top)");
        CHECK_EQ_STR(t[2].ignored_by, "baseline (b)");  /* the baseline first */
        /* judging again starts afresh */
        policy.rules = NULL;
        CHECK_EQ_INT(judge_process(&p, &policy), 0);
        CHECK(t[1].leaked && !t[1].ignored_by);
        CHECK(t[3].leaked);
        rule_set_done(&rules);
        process_done(&p);
}

int main(void)
{
        test_pid_mode();
        test_at_exit();
        test_ignores();
        return CHECK_DONE();
}
