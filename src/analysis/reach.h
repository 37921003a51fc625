/* Reachability: whether anyone who could end a blocked thread's wait can
 * still reach the object it waits on (issue 9, docs/wait-for.md
 * "Reachability").
 *
 * A conservative mark from outside the process, as a conservative garbage
 * collector's mark phase: the roots are the writable memory that is neither
 * a malloc chunk nor a thread stack (module data and bss, anonymous memory
 * of unknown use), and the stacks, registers and thread pointers of the
 * threads that can still run; every aligned word that points into a glibc
 * malloc chunk (or an object of jemalloc's, tcmalloc's or mimalloc's heap:
 * heap-*.c) marks the whole chunk, transitively.  A thread blocked for
 * good on a futex whose wait object becomes marked can run again, so it
 * becomes a root too (a fixpoint).  A waiter whose object is never marked
 * is unreachable.
 *
 * Every doubt goes one way: memory we cannot structure is a root, a thread
 * whose stack we cannot place is a root, a failed read or the scan limit
 * make the answer "unknown".  Races with the running target can hide a leak
 * (a pointer seen once keeps its object), never invent one; the live entry
 * point (reach_process) confirms each candidate is still on the same wait
 * with no voluntary context switch across the scan.
 *
 * reach_scan is pure over a memory callback so that unit tests run it on
 * synthetic memory images; reach_process serves it with process_vm_readv. */
#ifndef LEAKSCAN_REACH_H
#define LEAKSCAN_REACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "leakscan/leakscan.h"

#define REACH_DEFAULT_SCAN_LIMIT (256ull << 20)

/* How the scan reads the target: n ranges at once, like process_vm_readv
 * with one local and one remote iovec per range.  Returns the bytes read,
 * which cover a prefix of whole ranges, or a negative errno. */
struct reach_memory {
        ssize_t (*read)(void *userdata, const struct iovec *local, const struct iovec *remote, size_t n);
        /* Optional: which of the n pages from addr were ever written (present
         * or swapped out, /proc/PID/pagemap), one bool each.  Pages never
         * written hold no pointer (zero, or the file's own bytes), and reading
         * them would fault them into the target.  Returns 0 or a negative
         * errno (then every page counts). */
        int (*touched)(void *userdata, uint64_t addr, size_t n, bool *ret);
        void *userdata;
};

/* What the caller knows of thread i of the process beyond the report. */
struct reach_thread {
        uint64_t sp;            /* stack pointer at the snapshot, 0: frames[0].sp */
        const uint64_t *regs;   /* register words (roots when the thread is live) */
        size_t n_regs;
        bool live;              /* a root whatever its wait: it left the wait
                                 * since the snapshot, or cannot be confirmed */
};

struct reach_input {
        const struct leakscan_process *process;
        const char *maps_text;          /* /proc/PID/maps */
        const struct reach_thread *threads;     /* process->n_threads entries, or NULL */
        const uint64_t *extra_roots;    /* words the kernel keeps for the process
                                         * (epoll data, timer values) */
        size_t n_extra_roots;
        const uint8_t *extra_bytes;     /* bytes waiting in its pipes and sockets: a
                                         * word at every offset is a root */
        size_t n_extra_bytes;
        const char *blind;              /* pointers may be where the scan cannot see
                                         * (io_uring requests): why, or NULL */
        uint64_t scan_limit;            /* bytes read from the target, at most */
        struct reach_memory mem;
};

struct reach_result {
        enum leakscan_reach reach;
        const char *note;               /* static text: why unknown, or NULL */
};

struct reach_stats {
        uint64_t scanned_bytes;         /* read from the target: heap walk and mark */
        uint64_t heap_bytes;            /* in walked malloc heaps and mmapped chunks */
        size_t n_chunks, n_marked;
        size_t n_roots_rescanned;       /* marks added by the second pass over the roots */
        bool skipped;                   /* nothing needed a scan */
};

/* Whether thread t's wait is one reachability can judge: a blocked futex
 * wait on an object (mutex, condvar, rwlock, semaphore, barrier, plain
 * futex) that is not already deadlocked or orphaned. */
bool reach_is_candidate(const struct leakscan_thread *t);

/* Whether some candidate of p waits outside a module's data, so that
 * reach_scan would read memory. */
bool reach_needs_scan(const struct leakscan_process *p, const char *maps_text);

/* Marks from the roots of in->process and fills ret[i] for each of its
 * threads: UNREACHABLE or REACHABLE for candidates (reach_is_candidate), or
 * UNKNOWN with a note; NONE for the others.  Scans nothing when no candidate
 * waits outside a module's data.  stats may be NULL.  Returns 0, or -ENOMEM
 * (other failures give UNKNOWN answers, not errors). */
int reach_scan(const struct reach_input *in, struct reach_result *ret, struct reach_stats *stats);

/* What a pid-mode scan (reach_process_io) reads of the live process besides
 * its memory: kept by --save-snapshot, given back by --from-snapshot, so
 * that the offline scan decides as the live one did (src/snapshot/snapshot.h). */
#define REACH_LIVE_LEFT 1u      /* it had left its wait before the scan */
#define REACH_LIVE_MOVED 2u     /* its wait ended during the scan */
struct reach_live {
        bool scanned;           /* the scan ran (else nothing below) */
        size_t n;               /* one per p->threads */
        uint64_t *sp;           /* the stack pointer /proc showed, 0: none */
        uint8_t *flags;         /* REACH_LIVE_* */
        uint64_t *extra_roots;
        size_t n_extra_roots;
        uint8_t *extra_bytes;   /* the bytes of its pipes and sockets */
        size_t n_extra_bytes;
        uint64_t budget;        /* what they left of --scan-limit; 0: not kept */
        char *blind;
};

void reach_live_done(struct reach_live *l);

/* What the kernel keeps for a process that may point into its memory
 * (reach_kernel_roots): words (epoll data, timers' values), and the bytes
 * waiting in its pipes and sockets, kept as bytes (the mark takes a word at
 * every offset, so they cost their own size) and counted against
 * --scan-limit; budget, what they left of it for the memory the mark reads
 * (UINT64_MAX: no limit); blind, static text naming what could not be
 * read, or NULL. */
struct reach_kernel {
        uint64_t *words;
        size_t n_words;
        uint8_t *bytes;
        size_t n_bytes;
        uint64_t budget;
        const char *blind;
};

/* Frees the arrays; NULL is fine. */
void reach_kernel_done(struct reach_kernel *k);

/* The static note that text (a note that came back from the capturer or a
 * snapshot) says, or a general one when it says none of them; NULL for
 * NULL or "". */
const char *reach_kernel_note(const char *text);

/* How an unprivileged analyser meets the live process (src/capture/capturer.h):
 * its memory through a descriptor on /proc/PID/mem and pagemap that the
 * privileged capturer opened, a thread's /proc files and the kernel's
 * words (reach_kernel_roots) through requests the capturer checks. */
struct reach_proxy {
        int mem_fd;
        int pagemap_fd;         /* or -1 */
        int (*task_file)(void *userdata, pid_t tid, const char *name, char **ret_text);
        int (*kernel_roots)(void *userdata, struct reach_kernel *ret);
        void *userdata;
};

/* How reach_process_io meets the process: live (all NULL), or recording
 * what it reads (record, and tap_* told of every memory read), or replaying
 * a recording (replay and replay_mem, touching no process at all), or
 * through a capturer (proxy). */
struct reach_io {
        const struct reach_proxy *proxy;
        struct reach_live *record;
        void (*tap_read)(void *tap, const struct iovec *remote, const struct iovec *local, size_t n,
                         ssize_t got);
        void (*tap_touched)(void *tap, uint64_t addr, size_t n, const bool *ret, int r);
        void *tap;
        const struct reach_live *replay;
        struct reach_memory replay_mem;
};

/* The live scan of process p (analysed, after the threads run again):
 * reads its memory with process_vm_readv, adds the kernel's words (epoll
 * data, POSIX timers' values) as roots, and confirms each unreachable
 * candidate by re-reading /proc/PID/task/TID/syscall and status around the
 * scan.  regs: p->n_threads register sets or NULL.  Writes reach and
 * reach_note of each thread of p.  Returns 0 or -ENOMEM. */
int reach_process(struct leakscan_process *p, const char *maps_text, const uint64_t *const *regs,
                  size_t n_regs, uint64_t scan_limit, struct reach_stats *stats);

/* Parses a size such as "256M", "1G", "4096", "0" (no limit).  Returns 0 or
 * -EINVAL. */
/* reach_process, meeting the process through io (may be NULL: live).
 * Returns 0 or -ENOMEM (record's arrays are allocated here, the caller's
 * to free with reach_live_done). */
int reach_process_io(struct leakscan_process *p, const char *maps_text, const uint64_t *const *regs,
                     size_t n_regs, uint64_t scan_limit, struct reach_stats *stats, const struct reach_io *io);

int reach_parse_size(const char *text, uint64_t *ret);

/* What the kernel keeps for process pid, the bytes bounded by scan_limit
 * (0: none), into *ret (free with reach_kernel_done).  Returns 0 or
 * -ENOMEM.  For the capturer, and the live scan. */
int reach_kernel_roots(pid_t pid, uint64_t scan_limit, struct reach_kernel *ret);

#endif
