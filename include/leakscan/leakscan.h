/* leakscan public API: the types of a snapshot report and the one call that
 * produces it for a live process.  Installed with libleakscan.so.0
 * (pkg-config --cflags --libs leakscan); the in-process check of a test is
 * in <leakscan/verify.h>.
 *
 * A report is plain data owned by the caller (free it with
 * leakscan_report_free).  Every string in it is owned by the report.
 *
 * ABI policy of libleakscan.so.0 (docs/library.md says it at length):
 *  - Only the functions declared in the installed headers are exported,
 *    each under the symbol version of the release that added it (the
 *    source's src/lib/libleakscan.sym); everything else is local.
 *  - Structs a report is made of are allocated by the library only, and only
 *    grow at their end.  Reach the elements of the report's arrays through
 *    leakscan_report_process(), leakscan_process_thread() and the other
 *    accessors at the end of this header: they step by the library's own
 *    element size, so a program built against an older header keeps working
 *    when an element grows.  Indexing an array directly (p->threads[i]) is
 *    right only with the header the library was built with.
 *  - struct leakscan_wait_object (embedded in a thread) and struct
 *    leakscan_options (allocated by the caller) never change.  Options added
 *    later come in new structs that carry their own size (as
 *    struct leakscan_verify_options does).
 *  - The enums only grow: new values are appended before the _MAX entry,
 *    never renumbered (so a _MAX value is not part of the ABI).
 *  - Any other change is a break: the soname moves to libleakscan.so.1. */
#ifndef LEAKSCAN_LEAKSCAN_H
#define LEAKSCAN_LEAKSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEAKSCAN_SCHEMA "leakscan/1"

/* What a thread is doing, from its syscall, arguments, stack and fds. */
enum leakscan_state {
        LEAKSCAN_STATE_RUNNING,
        LEAKSCAN_STATE_MUTEX,
        LEAKSCAN_STATE_CONDVAR,
        LEAKSCAN_STATE_RWLOCK,
        LEAKSCAN_STATE_SEMAPHORE,
        LEAKSCAN_STATE_BARRIER,
        LEAKSCAN_STATE_JOIN,
        LEAKSCAN_STATE_FUTEX,
        LEAKSCAN_STATE_PIPE_READ,
        LEAKSCAN_STATE_PIPE_WRITE,
        LEAKSCAN_STATE_SOCKET_READ,
        LEAKSCAN_STATE_SOCKET_WRITE,
        LEAKSCAN_STATE_ACCEPT,
        LEAKSCAN_STATE_CONNECT,
        LEAKSCAN_STATE_POLL,
        LEAKSCAN_STATE_SLEEP,
        LEAKSCAN_STATE_WAIT_CHILD,
        LEAKSCAN_STATE_SIGNAL_WAIT,
        LEAKSCAN_STATE_DISK_IO,
        LEAKSCAN_STATE_STOPPED,
        LEAKSCAN_STATE_SYSCALL,
        LEAKSCAN_STATE_UNKNOWN,
        LEAKSCAN_STATE_KERNEL_WORKER,   /* a kernel thread inside the process (io_uring's
                                         * iou-wrk-*, iou-sqp-*): no user stack, never a leak */
        LEAKSCAN_STATE_CHANNEL_RECV,    /* receiving from a channel (Rust's mpsc) */
        LEAKSCAN_STATE_CHANNEL_SEND,    /* sending into a full channel */
        LEAKSCAN_STATE_PARK,            /* parked (Rust's thread::park) */
        LEAKSCAN_STATE_GIL,             /* CPython: waits for the interpreter lock, which
                                         * whoever runs Python hands on */
        _LEAKSCAN_STATE_MAX,
};

/* The judgement on a thread, decided by the judge alone from what the passes
 * before it wrote: classify's state and timeout give RUNNING, TIMED or
 * BLOCKED (IDLE for a kernel worker); the wait-for analysis proposes DEADLOCK
 * and ORPHANED; in pid mode a blocked thread becomes UNREACHABLE when the
 * reachability scan says so, else IDLE. */
enum leakscan_verdict {
        LEAKSCAN_VERDICT_RUNNING,
        LEAKSCAN_VERDICT_TIMED,
        LEAKSCAN_VERDICT_BLOCKED,
        LEAKSCAN_VERDICT_DEADLOCK,
        LEAKSCAN_VERDICT_ORPHANED,
        LEAKSCAN_VERDICT_IDLE,          /* pid mode: an indefinite wait that someone
                                         * alive could still end: not a leak */
        LEAKSCAN_VERDICT_UNREACHABLE,   /* pid mode: waits on an object that no thread
                                         * able to run can reach any more */
        _LEAKSCAN_VERDICT_MAX,
};

/* Whether anyone who could end a thread's wait can still reach the object it
 * waits on (pid mode; src/analysis/reach.h).  NONE: not a wait reachability judges. */
enum leakscan_reach {
        LEAKSCAN_REACH_NONE,
        LEAKSCAN_REACH_UNKNOWN,         /* not decided: see reach_note */
        LEAKSCAN_REACH_REACHABLE,
        LEAKSCAN_REACH_UNREACHABLE,
        _LEAKSCAN_REACH_MAX,
};

/* How leakscan read a thread, and so whether it disturbed it
 * (docs/RELIABILITY.md: "Stop only what must stop"). */
enum leakscan_read {
        LEAKSCAN_READ_UNKNOWN,          /* not recorded (a library before this field) */
        LEAKSCAN_READ_STOP_FREE,        /* asleep in a call, read from /proc and its
                                         * memory without a stop, the reading proven
                                         * consistent: its call was not touched */
        LEAKSCAN_READ_STOPPED,          /* stopped by leakscan (it ran, moved during each
                                         * reading, or the unwinder needs every thread
                                         * stopped), then let go */
        LEAKSCAN_READ_HELD,             /* --at-exit: held by leakscan when its process
                                         * began to exit (in a ptrace stop or in its call) */
        LEAKSCAN_READ_PROC_ONLY,        /* never stopped, read from /proc alone (an
                                         * uninterruptible sleep, a kernel worker, a
                                         * thread that did not stop in time) */
        LEAKSCAN_READ_SAMPLED,          /* running on a CPU, its registers and stack
                                         * taken by one perf sample: never stopped */
        _LEAKSCAN_READ_MAX,
};

struct leakscan_frame {
        uint64_t pc;            /* the address as unwound (a return address for
                                 * outer frames) */
        char *function;         /* demangled; NULL when no symbol covers pc */
        char *file;             /* NULL without line info */
        int line;               /* 0 without line info */
        char *module;           /* path of the ELF module, NULL if none */
        uint64_t offset;        /* pc relative to the module's load address */
        bool inlined;           /* a function inlined into the next frame */
        bool system;            /* in libc, libstdc++, ld.so, ...: not the user's */
        uint64_t sp;            /* stack pointer in this frame (0: unknown) */
        const char *language;   /* static: "python" for an interpreter's frame
                                 * (pc is then the address of the bytecode
                                 * instruction it runs), NULL native */
};

enum leakscan_region {
        LEAKSCAN_REGION_UNKNOWN,
        LEAKSCAN_REGION_GLOBAL,         /* a module's data or bss */
        LEAKSCAN_REGION_STACK,          /* some thread's stack */
        LEAKSCAN_REGION_HEAP,           /* anything else: heap, mmap */
};

/* What a blocked thread waits on, and who could release it. */
struct leakscan_wait_object {
        const char *kind;       /* static: "mutex", "condvar", "rwlock", ... */
        uint64_t address;       /* where the object starts */
        char *symbol;           /* a global's name ("held_lock", "lock+8"), or NULL */
        char *file;             /* where that global is defined, with debug info */
        int line;
        enum leakscan_region region;
        pid_t stack_tid;        /* region STACK: whose stack */
        char *stack_function;  /* region STACK: in which function's frame */
};

/* A test case of a known framework, recognised in a stack. */
struct leakscan_test {
        const char *framework;  /* static: "googletest", "catch2", ... */
        char *name;             /* "Suite.Name" as the framework calls it */
        char *file;             /* where the test is defined, or NULL */
        int line;
};

struct leakscan_thread {
        pid_t tid;
        char name[16];
        bool main;
        char proc_state;        /* the letter from /proc/TID/stat before we came */
        uint64_t start_time;    /* when it started, clock ticks since boot: with the
                                 * TID, names this thread and no later one */
        enum leakscan_state state;
        long syscall_nr;        /* -1 when not in a syscall */
        const char *syscall;    /* static name, NULL when not in a syscall */
        uint64_t syscall_args[6];
        bool timeout;           /* the wait will end by itself */
        int64_t blocked_ms;     /* time since it last ran, -1 when unknown */
        enum leakscan_verdict verdict;  /* the judge's (see enum leakscan_verdict) */
        bool leaked;                    /* the judge's */
        bool has_wait_address;
        uint64_t wait_address;  /* futex word waited on */
        bool has_futex_value;
        uint32_t futex_value;
        int wait_fd;            /* -1 when the wait is not on a fd */
        char *fd_target;        /* readlink of /proc/PID/fd/N */
        bool has_object;
        struct leakscan_wait_object object;
        pid_t owner_tid;        /* mutex or rwlock writer holding it, or 0 */
        bool owner_gone;        /* owner_tid is no thread of the process any more */
        pid_t joined_tid;       /* join: the thread joined, or 0 */
        bool has_count;
        int64_t count;          /* semaphore value, rwlock readers, barrier arrivals */
        char *peer;             /* pipe: who holds the other end, in words */
        pid_t peer_pid;         /* pipe: another process holding the other end, or 0 */
        struct leakscan_frame *frames;
        size_t n_frames;
        size_t top_frame;       /* first non-system frame; n_frames if none */
        const char *unwind_note; /* static text: why the stack may be incomplete, or NULL */
        uint64_t tls;           /* thread pointer (fs_base): glibc's struct pthread */
        bool exiting;           /* --at-exit: the thread that called exit_group */
        bool has_created_by;    /* --at-exit: the stack that created it is known */
        struct leakscan_frame *created_by;
        size_t n_created_by;
        size_t created_by_top;  /* first non-system frame of created_by */
        char *ignored_by;       /* the rule that made it no leak, and its origin */
        struct leakscan_test *test;     /* the test that created it, or NULL */
        enum leakscan_reach reach;      /* pid mode: the reachability of its wait object */
        const char *reach_note;         /* static text: why reach is unknown, or NULL */
        char *held_call;        /* --at-exit: the call it tried to make after its
                                 * process began to exit, held and never made
                                 * ("write(1, 0x5581c0, 12)"), or the signal
                                 * it was held at, never delivered ("SIGSEGV
                                 * at 0x..."), or NULL */
        enum leakscan_verdict proposed; /* the wait-for analysis's, for the judge:
                                         * DEADLOCK or ORPHANED when it proves the
                                         * wait can never end, else the verdict of
                                         * the wait alone (RUNNING, TIMED, BLOCKED,
                                         * IDLE) */
        enum leakscan_read read;        /* how leakscan read it */
        int64_t stopped_us;             /* read STOPPED: how long leakscan held it
                                         * stopped, from the moment it saw the stop
                                         * to the release; -1 when unknown (else -1) */
        const char *stop_effect;        /* static text: read STOPPED inside a call
                                         * whose outcome any stop changes (the
                                         * syscall matrix), what it changes
                                         * ("a write ... returns short"), or NULL */
};

struct leakscan_process {
        pid_t pid;
        char *exe;
        char **cmdline;
        size_t n_cmdline;
        struct leakscan_thread *threads;
        size_t n_threads;
        size_t n_vanished;      /* threads that exited during the snapshot */
        bool incomplete;        /* threads kept appearing while we stopped the
                                 * others: some created meanwhile may be missing */
        uint64_t stopped_us;    /* how long the target was held stopped */
        bool has_exit;          /* --at-exit: how the process ended */
        int exit_code;          /* exit status, when exit_signal is 0 */
        int exit_signal;        /* the signal that killed it, or 0 */
        bool not_inspected;     /* --at-exit: it ended without exit_group (a
                                 * signal, or its last thread exiting): no snapshot */
        struct leakscan_cycle *deadlocks;       /* each wait-for cycle once */
        size_t n_deadlocks;
        char *inspect_error;    /* what could not be checked and why (the
                                 * process ran, its own status stands), or NULL */
        bool has_exit_stop;     /* --at-exit: its other threads were stopped at */
        uint64_t exit_stop_us;  /* its exit, this long after leakscan received it */
};

/* A deadlock: each thread waits for the next, the last for the first. */
struct leakscan_cycle {
        pid_t *tids;
        size_t n;
};

struct leakscan_report {
        const char *mode;       /* "pid", "at-exit" or "timeout" */
        struct leakscan_process *processes;
        size_t n_processes;
};

struct leakscan_options {
        int64_t min_blocked_ms;         /* not used: leakscan_inspect_pid reports
                                         * only what is proven (kept for the ABI) */
        size_t stack_window;            /* bytes of stack copied per thread */
        unsigned max_frames;
        const char *unwinder;           /* "libdw" (default) or "fp" */
        unsigned stop_timeout_ms;       /* how long to wait for a thread to stop */
        bool system_lines;              /* source lines inside libc & co. (slower) */
        /* never stop a thread inside a blocking call: when a snapshot could
         * only be taken with such a stop, leakscan_inspect_pid returns
         * -EWOULDBLOCK and the target was not stopped */
        bool refuse_visible_stop;
};

/* Fills *opts with the defaults. */
void leakscan_options_init(struct leakscan_options *opts);

/* Snapshots every thread of process pid, lets it run again, then unwinds,
 * symbolizes, classifies, analyses and judges as `leakscan -p` does without
 * options: leaked are the threads proven stuck (deadlock, orphaned,
 * unreachable); blocked threads that are not are idle.  Returns 0 and a new report in *ret_report (free
 * with leakscan_report_free), or a negative errno:
 *   -ESRCH  no such process, or it exited during the snapshot
 *   -ENOTUNIQ pid is a thread of another process
 *   -EPERM  not allowed to trace it (ptrace_scope, capabilities)
 *   -EBUSY  already traced by another tracer (any of its threads)
 *   -ECHILD it is a zombie
 *   -EINVAL it is a kernel thread, or an option is out of range
 *   -EDEADLK pid is the calling process itself
 *   -EOWNERDEAD the process exited during the snapshot or its analysis
 * leakscan_describe_error() turns these into one line with a remedy.
 *
 * It never returns with a thread of pid still traced, whatever it returns:
 * it traces from a thread of its own, which ends before it returns (a
 * thread that went into an uninterruptible sleep during the snapshot, and
 * so never stopped, is let go by the kernel then).  The calling thread's
 * signal mask and nice value are left as they were; the call creates and
 * joins one thread, so it may not be made from a forked child of a
 * multi-threaded program before exec. */
int leakscan_inspect_pid(pid_t pid, const struct leakscan_options *opts,
                         struct leakscan_report **ret_report);

/* One line, without a newline, naming the cause of err (a negative errno from
 * leakscan_inspect_pid) for pid and how to remedy it.  Writes into buf. */
const char *leakscan_describe_error(int err, pid_t pid, char *buf, size_t size);

void leakscan_report_free(struct leakscan_report *report);

const char *leakscan_state_to_string(enum leakscan_state state);
const char *leakscan_region_to_string(enum leakscan_region region);
const char *leakscan_verdict_to_string(enum leakscan_verdict verdict);
const char *leakscan_reach_to_string(enum leakscan_reach reach);

/* The version of the library, "MAJOR.MINOR.PATCH" (static). */
const char *leakscan_version(void);

/* The i-th element of a report's arrays, or NULL when i is out of range.
 * Pointers into the report, valid until leakscan_report_free.  Use these
 * rather than indexing the arrays, so that an element struct can grow in a
 * later library (see the ABI policy above). */
const struct leakscan_process *leakscan_report_process(const struct leakscan_report *report, size_t i);
const struct leakscan_thread *leakscan_process_thread(const struct leakscan_process *process, size_t i);
const struct leakscan_cycle *leakscan_process_deadlock(const struct leakscan_process *process, size_t i);
/* Frame i of a thread's stack (0: the innermost), or of the stack that
 * created it. */
const struct leakscan_frame *leakscan_thread_frame(const struct leakscan_thread *thread, size_t i);
const struct leakscan_frame *leakscan_thread_created_by(const struct leakscan_thread *thread, size_t i);

#ifdef __cplusplus
}
#endif
#endif
