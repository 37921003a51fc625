/* Model: the report's plain data (include/leakscan/leakscan.h) as every step
 * fills it, with the functions that name its enums and free it.  Kept apart
 * from the steps so that each of them (inspect, analyse, judge, report) uses
 * the types without depending on another step. */
#ifndef LEAKSCAN_MODEL_H
#define LEAKSCAN_MODEL_H

#include <stddef.h>

#include "leakscan/leakscan.h"

/* Frees the strings of frames[0..n) and the array; NULL is fine. */
void frames_free(struct leakscan_frame *frames, size_t n);

/* Frees what a thread or a process owns, not the struct itself. */
void thread_free_contents(struct leakscan_thread *t);
void process_free_contents(struct leakscan_process *p);

/* A new report of mode ("pid", "at-exit", "timeout": static) with n
 * processes, zeroed; NULL on -ENOMEM.  Free with leakscan_report_free. */
struct leakscan_report *report_new(const char *mode, size_t n_processes);

#endif
