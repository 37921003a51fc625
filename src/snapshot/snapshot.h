/* The snapshot: everything the analysis reads of a process, captured once,
 * kept in a documented file format (docs/snapshot.md, leakscan-snapshot/1)
 * and analysed later, anywhere, with no privileges.
 *
 * Design: the analysis is the same code live and offline.  What it reads
 * of the process after the capture (module files, the blocked-time memory,
 * who holds a pipe's other end, what the reachability scan reads) goes
 * through hooks that, live, record what they read into a struct snapshot
 * (process_capture.snapshot_record) and, offline, answer from one
 * (process_capture.snapshot_replay) without touching any process.  So the
 * offline report equals the live one by construction, and the reader is the
 * one parser of this format: small, bounded, fuzzed (tests/fuzz). */
#ifndef LEAKSCAN_SNAPSHOT_H
#define LEAKSCAN_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "capture.h"
#include "leakscan/leakscan.h"
#include "modules.h"
#include "reach.h"

struct blocked_memory;

#define SNAPSHOT_MAGIC "leakscan-snapshot/1\n"

/* What the analysis learnt of one thread from the live system, by tid. */
struct snapshot_thread_facts {
        pid_t tid;
        bool has_blocked_ms;
        int64_t blocked_ms;     /* blocked.c's answer, with its memory of earlier runs */
        char *peer;             /* analyse.c: who holds the other end of its pipe */
        pid_t peer_pid;
        char *fd_target;        /* recording: the capture's, which the analysis takes over */
};

/* Bytes of the target's memory the reachability scan read. */
struct snapshot_range {
        uint64_t addr;
        size_t len;
        uint8_t *bytes;
};

/* One answer of /proc/PID/pagemap to the scan: which of n pages from addr
 * were ever written (r: 0, or the negative errno it gave). */
struct snapshot_pages {
        uint64_t addr;
        size_t n;
        int r;
        uint8_t *touched;       /* n bytes, 0 or 1 */
};

struct snapshot {
        struct process_capture *cap;    /* threads, stacks, lock bytes, maps, ... */
        char *exe;
        char **cmdline;
        size_t n_cmdline;
        uint64_t scan_limit;
        struct module_identity *modules;
        size_t n_modules;
        struct snapshot_thread_facts *facts;
        size_t n_facts;
        struct reach_live reach;
        struct snapshot_range *ranges;  /* sorted, apart from each other once read */
        size_t n_ranges;
        uint64_t range_bytes;
        struct snapshot_pages *pages;
        size_t n_pages;
        uint8_t *file;                  /* the file read (ranges point into it) */
};

void snapshot_free(struct snapshot *s);

/* Creates (or replaces) the file at path for a snapshot: never through a
 * symlink, only a regular file owned by us, mode 0600 before a byte is
 * written (it holds the target's memory).  Returns 0 and the stream in
 * *ret, or a negative errno (-EPERM: someone else's file, or not one). */
int snapshot_create_file(const char *path, FILE **ret);

/* Writes s to f in leakscan-snapshot/1.  Returns 0 or a negative errno. */
int snapshot_write(struct snapshot *s, FILE *f);

/* Parses a whole file's bytes (len of them at buf; the snapshot takes buf
 * over, to free with it, whatever the result).  Every length is checked
 * against what is left and against the limits of docs/snapshot.md.
 * Returns 0 and a new snapshot in *ret, or -EINVAL (*why says what is
 * wrong: static text), -EPROTONOSUPPORT (another version or machine), or
 * -ENOMEM. */
int snapshot_parse(uint8_t *buf, size_t len, struct snapshot **ret, const char **why);

/* snapshot_parse of the file at path (a regular file, at most
 * SNAPSHOT_MAX_FILE bytes).  Returns as snapshot_parse, or the errno of
 * opening or reading it. */
#define SNAPSHOT_MAX_FILE (4ull << 30)
int snapshot_read_file(const char *path, struct snapshot **ret, const char **why);

/* The bytes of the file at path, unparsed (a regular file, at most
 * SNAPSHOT_MAX_FILE): *ret (the caller's, for snapshot_parse), *ret_len.
 * Returns 0 or a negative errno (*why may say more). */
int snapshot_read_bytes(const char *path, uint8_t **ret, size_t *ret_len, const char **why);

/* Opens every module file of s by its path here (a regular file only) and
 * its separate debug info by the recorded build-id, so that the analysis
 * then opens nothing (the sandboxed analyser cannot).  A file that cannot
 * be opened is left to be named by module and offset.  Returns 0. */
int snapshot_open_modules(struct snapshot *s);

/* leakscan -p with --save-snapshot: inspect_pid_limited, recording into a
 * new snapshot (*ret_snap) what the analysis read.  Returns 0 or a negative
 * errno as inspect_pid_limited does. */
int snapshot_inspect_pid(pid_t pid, const struct leakscan_options *opts, uint64_t scan_limit,
                         struct leakscan_report **ret_report, struct snapshot **ret_snap);

/* In -p's analyser (capturer.h), with --save-snapshot: analyses cap (the
 * capturer's, kept) into p, whose identity is read, meeting the process
 * through proxy, and writes what it read to f, which it closes.  Returns 0
 * or a negative errno (of the analysis, or of writing). */
int snapshot_analyse_saving(struct process_capture *cap, const struct leakscan_options *opts, uint64_t scan_limit,
                            const struct reach_proxy *proxy, struct leakscan_process *p, FILE *f);

/* The report of a snapshot, as the live run that saved it made it (not yet
 * judged).  Reads no process.  Returns 0 or a negative errno (-ENOTSUP:
 * the unwinder reads a live process). */
int snapshot_analyse(struct snapshot *s, const struct leakscan_options *opts,
                     struct leakscan_report **ret_report);

/* ---- hooks of the analysis (inspect.c, analyse.c) ---- */

/* The modules of cap: live, or from the snapshot replayed. */
int snapshot_modules_new(const struct process_capture *cap, struct modules **ret);

/* blocked_ms for t: from the snapshot replayed, else live (recorded when
 * recording). */
int64_t snapshot_blocked_ms(const struct process_capture *cap, const struct blocked_memory *m,
                            const struct thread_capture *t);

/* The pipe peers of p's threads, as the snapshot replayed recorded them.
 * Returns 0 or -ENOMEM. */
int snapshot_replay_peers(const struct snapshot *s, struct leakscan_process *p);

/* After analyse_process, when recording: keeps the module identities and
 * the pipe peers.  Returns 0 or -ENOMEM. */
int snapshot_record_analysis(const struct process_capture *cap, struct modules *mods,
                             const struct leakscan_process *p);

#endif
