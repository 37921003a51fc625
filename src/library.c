/* What only the shared library's users need: its version, and the
 * accessors to a report's arrays.  The accessors are why an element struct
 * (a thread, a frame) may grow at its end without breaking programs built
 * against an older header: they step by this library's sizeof, where a
 * program's own p->threads[i] would step by the sizeof it was compiled
 * with. */
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
