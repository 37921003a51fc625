/* What only the shared library's users need: leakscan_inspect_pid, its
 * version, and the accessors to a report's arrays.  The accessors are why
 * an element struct (a thread, a frame) may grow at its end without
 * breaking programs built against an older header: they step by this
 * library's sizeof, where a program's own p->threads[i] would step by the
 * sizeof it was compiled with.
 *
 * leakscan_inspect_pid traces from a thread of its own, which ends before
 * the call returns.  A tracee that never stopped (it went into an
 * uninterruptible sleep after it was listed: a vfork, a hung NFS read)
 * cannot be detached, since PTRACE_DETACH needs a stopped tracee; the
 * leakscan command leaves it to the kernel, which detaches a tracer's
 * tracees when it exits, and a program that calls the library goes on
 * living.  The tracer is a thread, not a process: when our thread exits,
 * the kernel lets such a tracee go (its pending stop dropped), and the
 * caller's own thread never traces anything (its nice value and signal
 * mask, which the snapshot changes while it holds the target, stay its
 * own). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "inspect.h"
#include "judge.h"
#include "leakscan/leakscan.h"

#ifndef LEAKSCAN_VERSION
#define LEAKSCAN_VERSION "0"
#endif

const char *leakscan_version(void)
{
        return LEAKSCAN_VERSION;
}

const struct leakscan_process *leakscan_report_process(const struct leakscan_report *report, size_t i)
{
        return report && i < report->n_processes ? &report->processes[i] : NULL;
}

const struct leakscan_thread *leakscan_process_thread(const struct leakscan_process *process, size_t i)
{
        return process && i < process->n_threads ? &process->threads[i] : NULL;
}

const struct leakscan_cycle *leakscan_process_deadlock(const struct leakscan_process *process, size_t i)
{
        return process && i < process->n_deadlocks ? &process->deadlocks[i] : NULL;
}

const struct leakscan_frame *leakscan_thread_frame(const struct leakscan_thread *thread, size_t i)
{
        return thread && i < thread->n_frames ? &thread->frames[i] : NULL;
}

const struct leakscan_frame *leakscan_thread_created_by(const struct leakscan_thread *thread, size_t i)
{
        return thread && thread->has_created_by && i < thread->n_created_by ? &thread->created_by[i] : NULL;
}

struct inspect_call {
        pid_t pid;
        const struct leakscan_options *opts;
        struct leakscan_report *report;
        int r;
};

static void *inspect_thread(void *arg)
{
        struct inspect_call *c = arg;
        c->r = inspect_pid(c->pid, c->opts, NULL, &c->report);
        if (c->r < 0)
                return NULL;
        /* judged as plain -p judges: only what is proven */
        struct judge_policy policy = { .mode = JUDGE_PID };
        c->r = judge_report(c->report, &policy);
        if (c->r < 0) {
                leakscan_report_free(c->report);
                c->report = NULL;
        }
        return NULL;
}

int leakscan_inspect_pid(pid_t pid, const struct leakscan_options *opts, struct leakscan_report **ret_report)
{
        struct inspect_call c = { .pid = pid, .opts = opts };
        /* every signal blocked in the tracer: the program's handlers run
         * in its own threads, as before */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_t th;
        int e = pthread_create(&th, NULL, inspect_thread, &c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e != 0)
                return -e;
        pthread_join(th, NULL);
        if (c.r < 0)
                return c.r;
        *ret_report = c.report;
        return 0;
}
