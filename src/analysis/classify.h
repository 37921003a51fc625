/* Classify: what a thread waits on (its state), whether the wait can end by
 * itself, and the verdict, from facts gathered earlier: the syscall and its
 * arguments, the fd it names, the /proc state letter and the symbolized
 * frames.  Pure functions over plain data, so the rules are unit-tested on
 * fixtures. */
#ifndef LEAKSCAN_CLASSIFY_H
#define LEAKSCAN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leakscan/leakscan.h"

struct classify_input {
        char proc_state;                /* letter from /proc/TID/stat */
        long syscall_nr;                /* -1 when not in a syscall */
        uint64_t args[6];
        const char *fd_target;          /* for fd syscalls, else NULL */
        const struct leakscan_frame *frames;
        size_t n_frames;
        unsigned proc_flags;            /* flags from /proc/TID/stat (PF_*) */
};

struct classify_result {
        enum leakscan_state state;
        bool timeout;
        enum leakscan_verdict verdict;
        bool has_wait_address;
        uint64_t wait_address;
};

void classify_thread(const struct classify_input *in, struct classify_result *ret);

/* The verdict a wait gives by itself, from the facts classify writes into a
 * thread (its state and timeout): RUNNING, TIMED (a wait that ends by
 * itself, or CPython's GIL, handed on within its switch interval), BLOCKED,
 * or IDLE for a kernel worker.  The one rule: classify_thread's verdict,
 * analyse, reach and the judge all ask it. */
enum leakscan_verdict classify_wait_verdict(enum leakscan_state state, bool timeout);

/* Whether the futex wait of a thread with these frames is in a primitive
 * known to keep no owner TID (Rust's std, parking_lot, channels), whose
 * words must not be read with glibc's layout; false for glibc's (and
 * libstdc++'s) and for waits no rule knows. */
bool classify_wait_is_ownerless(const struct leakscan_frame *frames, size_t n);

/* Whether a demangled function name is of Rust's standard library (std::,
 * core::, alloc::, their types' impls and their traits' blanket impls),
 * which is linked into the user's program. */
bool classify_function_is_rust_std(const char *name);

/* Whether a frame belongs to the system (libc, libstdc++, ld.so...) rather
 * than the user: by module, and by name for static binaries. */
bool classify_frame_is_system(const struct leakscan_frame *f);

/* Index of "the function on top of the stack": the first frame of the
 * user's own code, skipping the system libraries, installed libraries,
 * templates from system headers and runtimes' wrappers (g_cond_wait,
 * uv_mutex_lock...); when there is none, the first frame outside the system
 * libraries; n when every frame is a system one.  "Created by" uses the same
 * rule. */
size_t classify_top_frame(const struct leakscan_frame *frames, size_t n);

/* Milliseconds since the thread last ran, from the scheduler clock, or -1. */
int64_t classify_blocked_ms(bool has_exec_start, uint64_t exec_start_ns,
                            bool has_now, uint64_t now_ns);

/* The static name of syscall nr, or NULL. */
const char *classify_syscall_name(long nr);

#endif
