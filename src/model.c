/* The names of the report's enums and the functions that free it; see
 * model.h.  The name tables are part of the JSON schema (leakscan/1): a name
 * once given is never changed. */
#include <stdlib.h>

#include "model.h"
#include "util.h"

static const char *const state_names[_LEAKSCAN_STATE_MAX] = {
        [LEAKSCAN_STATE_RUNNING] = "running",
        [LEAKSCAN_STATE_MUTEX] = "mutex",
        [LEAKSCAN_STATE_CONDVAR] = "condvar",
        [LEAKSCAN_STATE_RWLOCK] = "rwlock",
        [LEAKSCAN_STATE_SEMAPHORE] = "semaphore",
        [LEAKSCAN_STATE_BARRIER] = "barrier",
        [LEAKSCAN_STATE_JOIN] = "join",
        [LEAKSCAN_STATE_FUTEX] = "futex",
        [LEAKSCAN_STATE_PIPE_READ] = "pipe-read",
        [LEAKSCAN_STATE_PIPE_WRITE] = "pipe-write",
        [LEAKSCAN_STATE_SOCKET_READ] = "socket-read",
        [LEAKSCAN_STATE_SOCKET_WRITE] = "socket-write",
        [LEAKSCAN_STATE_ACCEPT] = "accept",
        [LEAKSCAN_STATE_CONNECT] = "connect",
        [LEAKSCAN_STATE_POLL] = "poll",
        [LEAKSCAN_STATE_SLEEP] = "sleep",
        [LEAKSCAN_STATE_WAIT_CHILD] = "wait-child",
        [LEAKSCAN_STATE_SIGNAL_WAIT] = "signal-wait",
        [LEAKSCAN_STATE_DISK_IO] = "disk-io",
        [LEAKSCAN_STATE_STOPPED] = "stopped",
        [LEAKSCAN_STATE_SYSCALL] = "syscall",
        [LEAKSCAN_STATE_UNKNOWN] = "unknown",
        [LEAKSCAN_STATE_KERNEL_WORKER] = "kernel-worker",
        [LEAKSCAN_STATE_CHANNEL_RECV] = "channel-recv",
        [LEAKSCAN_STATE_CHANNEL_SEND] = "channel-send",
        [LEAKSCAN_STATE_PARK] = "park",
        [LEAKSCAN_STATE_GIL] = "gil",
};

static const char *const verdict_names[_LEAKSCAN_VERDICT_MAX] = {
        [LEAKSCAN_VERDICT_RUNNING] = "running",
        [LEAKSCAN_VERDICT_TIMED] = "timed",
        [LEAKSCAN_VERDICT_BLOCKED] = "blocked",
        [LEAKSCAN_VERDICT_DEADLOCK] = "deadlock",
        [LEAKSCAN_VERDICT_ORPHANED] = "orphaned",
        [LEAKSCAN_VERDICT_IDLE] = "idle",
        [LEAKSCAN_VERDICT_UNREACHABLE] = "unreachable",
};

static const char *const region_names[] = {
        [LEAKSCAN_REGION_UNKNOWN] = "unknown",
        [LEAKSCAN_REGION_GLOBAL] = "global",
        [LEAKSCAN_REGION_STACK] = "stack",
        [LEAKSCAN_REGION_HEAP] = "heap",
};

const char *leakscan_state_to_string(enum leakscan_state state)
{
        return (unsigned) state < _LEAKSCAN_STATE_MAX && state_names[state] ? state_names[state] : "unknown";
}

const char *leakscan_region_to_string(enum leakscan_region region)
{
        return (unsigned) region < ARRAY_SIZE(region_names) ? region_names[region] : "unknown";
}

const char *leakscan_verdict_to_string(enum leakscan_verdict verdict)
{
        return (unsigned) verdict < _LEAKSCAN_VERDICT_MAX && verdict_names[verdict] ? verdict_names[verdict] :
               "unknown";
}

void frames_free(struct leakscan_frame *frames, size_t n)
{
        if (!frames)
                return;
        for (size_t i = 0; i < n; i++) {
                free(frames[i].function);
                free(frames[i].file);
                free(frames[i].module);
        }
        free(frames);
}

void thread_free_contents(struct leakscan_thread *t)
{
        free(t->object.symbol);
        free(t->object.file);
        free(t->object.stack_function);
        free(t->peer);
        free(t->ignored_by);
        frames_free(t->frames, t->n_frames);
        frames_free(t->created_by, t->n_created_by);
        free(t->fd_target);
        free(t->held_call);
        if (t->test) {
                free(t->test->name);
                free(t->test->file);
                free(t->test);
        }
}

void process_free_contents(struct leakscan_process *p)
{
        for (size_t i = 0; i < p->n_deadlocks; i++)
                free(p->deadlocks[i].tids);
        free(p->deadlocks);
        free(p->exe);
        free(p->inspect_error);
        for (size_t i = 0; i < p->n_cmdline; i++)
                free(p->cmdline[i]);
        free(p->cmdline);
        for (size_t i = 0; i < p->n_threads; i++)
                thread_free_contents(&p->threads[i]);
        free(p->threads);
}

struct leakscan_report *report_new(const char *mode, size_t n_processes)
{
        struct leakscan_report *report = calloc(1, sizeof *report);
        if (!report)
                return NULL;
        report->mode = mode;
        if (n_processes > 0) {
                report->processes = calloc(n_processes, sizeof *report->processes);
                if (!report->processes) {
                        free(report);
                        return NULL;
                }
                report->n_processes = n_processes;
        }
        return report;
}

void leakscan_report_free(struct leakscan_report *report)
{
        if (!report)
                return;
        for (size_t i = 0; i < report->n_processes; i++)
                process_free_contents(&report->processes[i]);
        free(report->processes);
        free(report);
}
