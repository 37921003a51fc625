/* leakscan-verify-helper: the half of leakscan_verify_none (src/lib/verify.c)
 * that runs in its own process, because a process cannot stop and read its
 * own threads.  Started by the library in the process under test, with one
 * socket as stdin and stdout; installed in libexecdir, not meant to be run
 * by hand.
 *
 * It judges its parent the way --at-exit judges a process that exits: every
 * thread counts, but the calling one, the main one, the baseline's and the
 * ones ignore rules match.  It first waits, reading /proc only, while some
 * thread that would count is running or in a timed wait (the grace of
 * --at-exit, with the same growing back-off), and stops the process only
 * when such threads remain: a test that leaves nothing behind is never
 * stopped.
 *
 * It reads only the process that started it: --pid must be its parent
 * (posix_spawn from leakscan_verify_none), so that whoever can run it
 * cannot point it at another process; and it refuses to run set-user-ID,
 * set-group-ID or with file capabilities (AT_SECURE), as leakscan does,
 * since it would read its parent with rights the caller does not have.
 *
 * Request (stdin, until EOF): "thread TID START" (a thread to ignore) and
 * "rule KIND:PATTERN" lines.  Answer (stdout): "leaked N" and the report, or
 * "error -ERRNO MESSAGE" on one line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "capturer.h"
#include "classify.h"
#include "inspect.h"
#include "judge.h"
#include "procfs.h"
#include "reach.h"
#include "report.h"
#include "rules.h"
#include "supervise.h"
#include "util.h"

struct request {
        pid_t pid;
        pid_t caller;
        int64_t grace_ms;
        bool json;
        bool no_default_ignores;
        struct baseline baseline;       /* the threads to ignore */
        struct rule_set rules;
};

/* Answers with an error and exits: the library returns err. */
static _Noreturn void fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(int err, const char *fmt, ...)
{
        va_list ap;
        printf("error %d ", err);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        exit(EXIT_SUCCESS);
}

static bool ignored_without_looking(const struct request *rq, pid_t tid, uint64_t start)
{
        if (tid == rq->caller || tid == rq->pid)
                return true;
        return baseline_contains(&rq->baseline, tid, start);
}

/* Counts the threads of rq->pid that would count (alive, not ignored
 * without looking at their stacks) and tells whether one of them may still
 * end by itself: on a CPU, or in a wait with a timeout.  Reads /proc only. */
static size_t scan_candidates(const struct request *rq, bool *ret_busy)
{
        _cleanup_free_ pid_t *tids = NULL;
        size_t n_tids = 0, n = 0;
        bool busy = false;
        if (procfs_list_tasks(rq->pid, &tids, &n_tids) < 0) {
                *ret_busy = false;
                return 0;
        }
        for (size_t i = 0; i < n_tids; i++) {
                struct proc_stat st;
                int r = inspect_thread_may_finish(rq->pid, tids[i], &st);
                if (r < 0 || ignored_without_looking(rq, tids[i], st.starttime))
                        continue;
                n++;
                busy |= r > 0;
        }
        *ret_busy = busy;
        return n;
}

static void read_request(struct request *rq)
{
        char line[4096];
        unsigned lineno = 0;
        while (fgets(line, sizeof line, stdin)) {
                lineno++;
                line[strcspn(line, "\n")] = 0;
                if (startswith(line, "thread ")) {
                        int tid;
                        uint64_t start;
                        if (sscanf(line + 7, "%d %" SCNu64, &tid, &start) != 2)
                                fail(-EPROTO, "leakscan-verify-helper: bad request line %u", lineno);
                        struct baseline_entry *n = realloc(rq->baseline.entries,
                                                           (rq->baseline.n + 1) * sizeof *n);
                        if (!n)
                                fail(-ENOMEM, "leakscan_verify_none: out of memory");
                        rq->baseline.entries = n;
                        rq->baseline.entries[rq->baseline.n++] = (struct baseline_entry) { tid, start };
                } else if (startswith(line, "rule ")) {
                        enum rule_kind kind;
                        const char *pattern, *why;
                        if (rules_parse(line + 5, &kind, &pattern, &why) < 0)
                                fail(-EINVAL, "leakscan_verify_none: ignore rule '%s': %s", line + 5, why);
                        if (rules_add(&rq->rules, kind, pattern, NULL, "leakscan_verify_options.ignore") < 0)
                                fail(-ENOMEM, "leakscan_verify_none: out of memory");
                } else
                        fail(-EPROTO, "leakscan-verify-helper: bad request line %u", lineno);
        }
}

static void parse_args(int argc, char **argv, struct request *rq)
{
        static const struct option options[] = {
                { "pid", required_argument, NULL, 'p' },
                { "caller", required_argument, NULL, 'c' },
                { "grace", required_argument, NULL, 'g' },
                { "json", no_argument, NULL, 'j' },
                { "no-default-ignores", no_argument, NULL, 'n' },
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        rq->pid = (pid_t) atoi(optarg);
                        break;
                case 'c':
                        rq->caller = (pid_t) atoi(optarg);
                        break;
                case 'g':
                        rq->grace_ms = strtoll(optarg, NULL, 10);
                        break;
                case 'j':
                        rq->json = true;
                        break;
                case 'n':
                        rq->no_default_ignores = true;
                        break;
                default:
                        fail(-EPROTO, "leakscan-verify-helper: started with bad arguments (a library of "
                             "another version?); it is run by leakscan_verify_none only");
                }
        }
        if (rq->pid <= 0 || rq->caller <= 0)
                fail(-EPROTO, "leakscan-verify-helper: started without --pid and --caller; "
                     "it is run by leakscan_verify_none only");
        /* a parent that died meanwhile makes getppid() another process: refused too */
        if (rq->pid != getppid())
                fail(-EPERM, "leakscan-verify-helper: --pid=%d is not the process that started it; "
                     "it is run by leakscan_verify_none only, and checks its caller", (int) rq->pid);
}

int main(int argc, char **argv)
{
        struct request rq = { .grace_ms = -1 };
        if (getauxval(AT_SECURE))
                fail(-EPERM, "leakscan_verify_none: the helper refuses to run set-user-ID, set-group-ID or with "
                     "file capabilities, or started by a program that is: it would read the process with rights "
                     "its caller does not have; run the test as the user it is, or as root");
        parse_args(argc, argv, &rq);
        if (rq.grace_ms < 0) {
                struct supervise_options defaults;
                supervise_options_init(&defaults);
                rq.grace_ms = defaults.grace_ms;
        }
        read_request(&rq);
        _cleanup_free_ char *why = NULL;
        if (rules_load_env(&rq.rules, &why) < 0)
                fail(-EINVAL, "leakscan_verify_none: %s", why ? why : "out of memory");
        if (!rq.no_default_ignores && rules_add_defaults(&rq.rules) < 0)
                fail(-ENOMEM, "leakscan_verify_none: out of memory");
        /* separate debug info is looked up on this machine only, as leakscan does */
        unsetenv("DEBUGINFOD_URLS");

        /* the grace: wait while a thread that counts may still finish */
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) rq.grace_ms * 1000u;
        uint64_t backoff_us = 1000;
        bool busy;
        size_t n;
        while ((n = scan_candidates(&rq, &busy)) > 0 && busy && now_usec(CLOCK_MONOTONIC) < deadline) {
                uint64_t left = deadline - now_usec(CLOCK_MONOTONIC);
                uint64_t us = backoff_us < left ? backoff_us : left;
                struct timespec ts = { (time_t) (us / 1000000u), (long) (us % 1000000u) * 1000 };
                nanosleep(&ts, NULL);
                backoff_us = backoff_us * 2 > 100000 ? 100000 : backoff_us * 2;
        }
        if (n == 0) {
                puts("leaked 0");
                rule_set_done(&rq.rules);
                baseline_done(&rq.baseline);
                return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }

        /* the capture here, the analysis of what the test process controls
         * in a confined child (capturer.h), as leakscan -p does */
        const char *hold = secure_getenv("LEAKSCAN_TEST_HOLD_ANALYSER");
        capturer_policy = (struct capturer_policy) {
                .in_process = secure_getenv("LEAKSCAN_ANALYSE_IN_PROCESS") != NULL,
                .hold = hold && hold[0] == '/', .hold_path = hold && hold[0] == '/' ? hold : NULL };
        struct leakscan_report *report = NULL;
        char analyser[768] = "";
        int r = capturer_policy.in_process ? inspect_pid(rq.pid, NULL, NULL, &report) :
                capturer_inspect_pid(rq.pid, NULL, NULL, REACH_DEFAULT_SCAN_LIMIT, &report, analyser, sizeof analyser);
        if (r == -ECANCELED)
                fail(r, "leakscan_verify_none: %s; the threads were not checked", analyser);
        if (r < 0) {
                char msg[512];
                fail(r, "leakscan_verify_none: %s", leakscan_describe_error(r, rq.pid, msg, sizeof msg));
        }
        report->mode = "verify";
        /* judged afresh: inspect_pid judged it as -p would */
        struct judge_policy policy = {
                .mode = JUDGE_VERIFY, .caller = rq.caller, .baseline = &rq.baseline, .rules = &rq.rules,
        };
        r = judge_report(report, &policy);
        if (r < 0)
                fail(r, "leakscan_verify_none: out of memory");
        size_t leaked = report_count_leaked(report);
        printf("leaked %zu\n", leaked);
        if (leaked > 0) {
                struct report_options ropts = {0};
                r = (rq.json ? &report_json : &report_text)->write(stdout, report, &ropts);
        }
        leakscan_report_free(report);
        rule_set_done(&rq.rules);
        baseline_done(&rq.baseline);
        return r == 0 && fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
