/* Blocked time that survives our own snapshots.
 *
 * A snapshot makes every blocked thread run for a moment (to stop, then to
 * re-enter its wait), which resets the scheduler's se.exec_start: without
 * memory, a second `leakscan -p` a second later would see every thread
 * blocked for a second.  So after each snapshot we remember, per thread (TID
 * and start time, in a file per process named by pid and start time), since
 * when it has been blocked and its count of voluntary context switches once
 * it slept again after our detach.  The next snapshot finds the same count
 * only if the thread never slept anew: then it has been blocked since the
 * remembered time.  Any doubt (a count that moved, a missing or damaged
 * file) falls back to what the scheduler says: memory can only lengthen a
 * blocked time that our own stop shortened, never invent one.
 *
 * The files live in /run/leakscan (root) or $XDG_RUNTIME_DIR/leakscan, a
 * directory of our own (mode 0700, owned by us, no symlinks followed), are
 * written atomically (a temporary file renamed over the old one), bounded in
 * size, and removed once their process is gone. */
#ifndef LEAKSCAN_BLOCKED_H
#define LEAKSCAN_BLOCKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "leakscan/leakscan.h"

/* At most this many threads are remembered per process, and a file larger
 * than BLOCKED_MAX_FILE is not read. */
#define BLOCKED_MAX_THREADS 65536
#define BLOCKED_MAX_FILE (BLOCKED_MAX_THREADS * 96)

struct blocked_entry {
        pid_t tid;
        uint64_t start_time;    /* the thread's start, clock ticks since boot */
        uint64_t since_ns;      /* blocked since, ns on the monotonic clock */
        uint64_t nvcsw;         /* voluntary switches once asleep after our detach */
};

struct blocked_memory;

/* Writes the directory for this user into buf: /run/leakscan for root,
 * $XDG_RUNTIME_DIR/leakscan otherwise.  Returns 0, or -ENOENT when there is
 * none (no XDG_RUNTIME_DIR, or a relative one). */
int blocked_default_dir(char *buf, size_t size);

/* Opens the memory of process pid, started at proc_start, in dir (created
 * if missing), and loads what an earlier snapshot left.  Returns 0 and a new
 * object, or a negative errno: -EPERM when dir is not a directory of ours
 * with no access for others, or what mkdir/open said. */
int blocked_memory_open(const char *dir, pid_t pid, uint64_t proc_start, struct blocked_memory **ret);
void blocked_memory_free(struct blocked_memory *m);

/* Since when (ns on the monotonic clock) thread tid, started at start_time,
 * has been blocked: the remembered time when its voluntary switches are as we
 * left them (and that time is earlier), else since_ns, what the scheduler
 * says now.  m may be NULL. */
uint64_t blocked_memory_since(const struct blocked_memory *m, pid_t tid, uint64_t start_time,
                              uint64_t since_ns, bool has_nvcsw, uint64_t nvcsw);

/* Remembers a thread for the next snapshot.  Returns 0 or -ENOMEM (or
 * -E2BIG past BLOCKED_MAX_THREADS). */
int blocked_memory_note(struct blocked_memory *m, pid_t tid, uint64_t start_time, uint64_t since_ns,
                        uint64_t nvcsw);

/* Replaces the process's file with what was noted, and removes the files
 * of processes that are gone.  Returns 0 or a negative errno. */
int blocked_memory_save(struct blocked_memory *m);

/* The file format, for the unit tests: parses text written for pid and
 * proc_start.  Returns 0 and a new array, -EINVAL for anything malformed or
 * written for another process, -ENOMEM. */
int blocked_parse(const char *text, pid_t pid, uint64_t proc_start, struct blocked_entry **ret,
                  size_t *ret_n);

/* ---- the snapshot's side (inspect.c) ---- */

/* The memory of the process in cap, when cap->remember_blocked and the
 * directory is usable; else NULL (blocked times are the scheduler's). */
struct blocked_memory *blocked_memory_for(const struct process_capture *cap);

/* Milliseconds thread t of cap has been blocked, or -1 when unknown. */
int64_t blocked_ms(const struct blocked_memory *m, const struct process_capture *cap,
                   const struct thread_capture *t);

/* After the snapshot's threads run again: notes every thread of p that is
 * not running and that sleeps again now, with its switch count as of now,
 * and saves.  Reads /proc/PID/task/TID/status once per such thread. */
void blocked_memory_update(struct blocked_memory *m, const struct process_capture *cap,
                           const struct leakscan_process *p);

#endif
