/* leakscan -p split in two (issue 17): the privileged capturer seizes,
 * captures and releases the target, then forks the analyser, which drops
 * every privilege (sandbox.h) before it parses anything the target
 * controls, and unwinds, symbolizes, classifies, analyses, reaches, judges
 * and writes the report.
 *
 * Design: the capture is handed over by fork (the analyser's copy of the
 * capturer's memory, nothing serialised or copied twice).  What the
 * analysis still reads of the live system goes through the capturer:
 * memory through descriptors on /proc/PID/mem and pagemap opened by the
 * capturer (access is checked at open), everything else as requests on a
 * socket that the capturer checks against its own capture before it acts
 * (a thread's /proc file: a thread it captured; a module file: a mapping
 * its maps show; debug info: a build-id, never a path; pipe peers: the
 * pipes its capture saw).  The blocked-time memory stays the capturer's:
 * the analyser asks for the times and says which threads to remember. */
#ifndef LEAKSCAN_CAPTURER_H
#define LEAKSCAN_CAPTURER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "capture.h"
#include "leakscan/leakscan.h"
#include "reach.h"

/* What the analyser does with its report (not yet judged): judge it and
 * write it to stdout, returning the exit status. */
typedef int (*capturer_report_fn)(void *userdata, struct leakscan_report *report);

struct capturer_outcome {
        int status;             /* the analyser's exit status */
        char *out;              /* what it wrote (the report), the caller's */
        size_t len;
        char why[768];          /* when it died or ran out of time */
        uint64_t fork_ns;       /* the caller's CPU time in fork */
        uint64_t cpu_us;        /* the analyser's own CPU time (0 when it did not start) */
};

/* At most this many descriptors of the caller's are kept by an analyser. */
#define CAPTURER_MAX_KEEP 4

/* leakscan -p through the split.  Returns 0 with *ret filled (the target
 * long released), -ECANCELED when the analyser could not start, died or
 * ran out of time (ret->why says how, naming the module it read), or the negative
 * errno of inspecting pid (as inspect_pid_limited).  hold: the analyser
 * waits for its stdin to close once confined (tests look at it).  save
 * (or NULL): --save-snapshot's file, created by the caller, written and
 * closed by the analyser (the caller still closes its own copy).
 * keep[0..n_keep) (n_keep < CAPTURER_MAX_KEEP): other descriptors the
 * caller opened for the analyser to write (--save-baseline,
 * --print-suppressions=FILE), so that it never opens a path. */
int capturer_run_pid(pid_t pid, const struct leakscan_options *opts, uint64_t scan_limit, bool hold, FILE *save,
                     const int *keep, size_t n_keep, capturer_report_fn report, void *userdata,
                     struct capturer_outcome *ret);

/* How this process runs its analysers (main.c sets it, from the
 * environment, for its own runs; the library keeps the defaults):
 * in_process analyses without a sandbox (LEAKSCAN_ANALYSE_IN_PROCESS, for
 * debugging leakscan only), hold keeps each analyser, once confined, until
 * its stdin ends (LEAKSCAN_TEST_HOLD_ANALYSER: the tests look at it). */
struct capturer_policy {
        bool in_process;
        bool hold;
        const char *hold_path;  /* hold: read this file (a FIFO) to its end, not stdin */
};
extern struct capturer_policy capturer_policy;

/* What an analyser does once confined: its analysis, written to its
 * stdout; returns its exit status (0-255). */
typedef int (*capturer_child_fn)(void *userdata);

/* Forks an analyser for cap (the caller's: its copy is the analyser's by
 * fork), confines it (sandbox.h) and answers its requests until it ends.
 * The analyser keeps its stdin only when hold (the tests), its stderr, and
 * keep[0..n_keep) (at most CAPTURER_MAX_KEEP; -1 entries ignored).  wall_ms: how long it may run (0: the sandbox's
 * default), enforced here.  Returns 0 with ret->status and its output in
 * ret->out (the caller's to free); -ECANCELED when it could not start, died
 * or ran out of time (ret->why says how, naming the module it read); or the
 * negative errno its analysis noted (sandbox_note_error). */
int capturer_analyse(const struct process_capture *cap, uint64_t scan_limit, bool hold, const int *keep,
                     size_t n_keep, unsigned wall_ms, capturer_child_fn fn, void *userdata,
                     struct capturer_outcome *ret);

/* inspect_pid_limited through the split: the capture here, the analysis
 * (unwind, symbolize, classify, analyse, reach) in a confined analyser
 * that hands the threads back (procwire.h); not judged.  creators (may be
 * NULL: --watch's tracker) is looked up in the analyser's copy of this
 * process's memory: it must only read memory.  Returns 0 with a
 * new report in *ret, -ECANCELED when the analyser could not start, died,
 * ran out of time or answered what does not parse (why says which), or a
 * negative errno as inspect_pid_limited. */
struct creator_lookup;
int capturer_inspect_pid(pid_t pid, const struct leakscan_options *opts, const struct creator_lookup *creators,
                         uint64_t scan_limit, struct leakscan_report **ret, char *why, size_t why_size);

/* The capturer's side alone, for the unit test: answers requests on sock,
 * checked against cap (the caller's, which outlives it).  serve reads and
 * answers one request: 0, 1 when the other side closed the socket, or a
 * negative errno, -EPROTO for a request that names what cap does not hold
 * (after which the analyser is ended). */
struct capturer_server;
struct capturer_server *capturer_server_new(int sock, struct process_capture *cap);
int capturer_server_serve(struct capturer_server *s);
void capturer_server_free(struct capturer_server *s);

/* The wire, for the unit test: a request is this header and len bytes. */
enum {
        CAPTURER_REQ_TASK_FILE = 1,     /* a: tid, b: 0 syscall, 1 status -> its text */
        CAPTURER_REQ_KERNEL_ROOTS,      /* -> n words, then the blind note's text */
        CAPTURER_REQ_OPEN_MAPPING,      /* a: start, b: end -> the file's descriptor */
        CAPTURER_REQ_OPEN_DEBUGINFO,    /* payload: a build-id -> the debug file's descriptor */
        CAPTURER_REQ_BLOCKED_MS,        /* -> one int64 per captured thread, in capture order */
        CAPTURER_REQ_BLOCKED_UPDATE,    /* no payload: remember the blocked threads (the capturer's
                                         * own judgement of which, from its capture) */
        CAPTURER_REQ_PIPES,             /* payload: {int32 tid, state}[] -> per entry int32 pid, uint32 len, text */
        CAPTURER_REQ_CWD,               /* -> the target's working directory */
        CAPTURER_REQ_OPEN_SOURCE,       /* payload: an absolute path -> a descriptor on that regular
                                         * file, when the target's user could read it */
};

struct capturer_request {
        uint32_t type;
        uint32_t len;
        uint64_t a, b;
};

struct capturer_answer {
        int32_t r;
        uint32_t len;
};

/* ---- in the analyser: the analysis's hooks ---- */

/* Whether this is the analyser of a capturer_run_pid. */
bool capturer_active(void);

/* Reads len bytes of the target's memory at addr into buf, through the
 * capturer's descriptor on /proc/PID/mem.  Returns the bytes read, or -1. */
ssize_t capturer_read_memory(uint64_t addr, void *buf, size_t len);

/* Reads len bytes of the target's memory at addr into buf, for an analysis
 * pass that reads beyond the capture (CPython's frames, a test framework's
 * registry): through the capturer's descriptor in its analyser (which may
 * not trace), else with process_vm_readv.  Returns 0, or a negative errno
 * (-EFAULT when fewer bytes could be read). */
int analysis_read_memory(pid_t pid, uint64_t addr, void *buf, size_t len);

/* A descriptor on the file mapped at [start, end), or -1. */
int capturer_open_mapping(uint64_t start, uint64_t end);

/* A descriptor on the separate debug info of build-id id, or -1. */
int capturer_open_debuginfo(const void *id, size_t len);

/* The target's working directory (a new string), or NULL. */
char *capturer_target_cwd(void);

/* A descriptor on the source file path (a test's, named by the target's
 * DWARF), opened by the capturer when it is a regular file the target's
 * user could read; or -1. */
int capturer_open_source(const char *path);

/* blocked_ms for thread t of cap, as the capturer's memory tells it. */
int64_t capturer_blocked_ms(const struct process_capture *cap, const struct thread_capture *t);

/* The capturer remembers the blocked threads of its capture for the next
 * run (which ones it decides itself; p is the analyser's, not sent). */
void capturer_blocked_update(const struct leakscan_process *p);

/* analyse_pipes, by the capturer.  Returns 0 or a negative errno. */
int capturer_pipes(struct leakscan_process *p);

/* How the reachability scan meets the process, or NULL when this is not
 * an analyser. */
const struct reach_io *capturer_reach_io(void);

#endif
