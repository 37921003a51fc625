/* Unwind: turn a thread's captured registers and stack copy into a list of
 * program counters, offline (the target already runs again).
 *
 * Unwinders are backends behind a small table, as strace does for its own:
 * "libdw" (CFI from .eh_frame/.debug_frame, with libdw's frame-pointer
 * fallback where a module has none; the default) and "fp" (frame-pointer
 * chain only; cheap, but lost in code built without frame pointers, which
 * includes Debian's libc). */
#ifndef LEAKSCAN_UNWIND_H
#define LEAKSCAN_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "leakscan/leakscan.h"
#include "modules.h"

struct unwound_frame {
        uint64_t pc;
        uint64_t sp;            /* the stack pointer in that frame, 0 if unknown */
        bool activation;        /* pc is exact (frame 0, signal frame), not a
                                 * return address: look it up as is, not pc-1 */
};

struct unwound_stack {
        struct unwound_frame *frames;   /* owned */
        size_t n;
        const char *note;       /* static text: why it may be incomplete */
};

struct unwinder {
        const char *name;
        const char *summary;    /* what sets it apart, for --help; or NULL */
        /* Prepares to unwind threads of cap.  Returns 0 and the backend's
         * state in *ret_state, or a negative errno. */
        int (*attach)(struct modules *mods, struct process_capture *cap, void **ret_state);
        /* Unwinds one captured thread into *out (out->frames owned by the
         * caller).  Returns 0 or a negative errno; a partial stack is a
         * success with a note. */
        int (*unwind_thread)(void *state, const struct thread_capture *t, unsigned max_frames,
                             struct unwound_stack *out);
        void (*detach)(void *state);
        /* Optional: runs while every thread of cap is stopped and seized,
         * before any is released, for a backend that reads the live process.
         * What it finds it keeps in cap (cap->live_unwind).  Returns 0 or a
         * negative errno. */
        int (*while_stopped)(struct process_capture *cap, size_t stack_window, unsigned max_frames);
        /* It needs every register of a thread, the frame pointer first: a
         * thread read from /proc's syscall line (pc, stack pointer and
         * arguments only) is stopped for its registers instead. */
        bool needs_all_registers;
};

extern const struct unwinder unwinder_libdw;
extern const struct unwinder unwinder_fp;

#if HAVE_LIBUNWIND
extern const struct unwinder unwinder_libunwind;
extern const struct unwinder unwinder_ptrace;
#endif

/* The backend called name, or NULL. */
const struct unwinder *unwinder_find(const char *name);

/* The backends built in, in --help's order (the first is the default): n
 * of them from unwinder_at(0). */
size_t unwinder_count(void);
const struct unwinder *unwinder_at(size_t i);

/* Why name is not a backend although leakscan knows of it (built without
 * the library it needs), as static text naming the remedy; NULL when name is
 * built in or unknown. */
const char *unwinder_absent_reason(const char *name);

/* Reads a word at addr from a thread's stack copy.  Returns true when the
 * whole word lies in the copy. */
bool unwind_read_stack(const struct thread_capture *t, uint64_t addr, uint64_t *ret);

/* For backends. */

/* Appends a frame to out; *cap is the allocated length of out->frames (0
 * for an empty stack).  Returns 0 or -ENOMEM. */
int unwound_push(struct unwound_stack *out, size_t *cap, uint64_t pc, uint64_t sp, bool activation);

/* Whether the frame about to be pushed repeats out's last one, pc and stack
 * pointer: a runaway unwind, cut there rather than at the frame limit. */
bool unwound_is_runaway(const struct unwound_stack *out, uint64_t pc, uint64_t sp, bool activation);

/* The notes every backend gives for the same cause, so that reports do not
 * depend on the unwinder. */
extern const char unwind_note_capped[];         /* the frame limit */
extern const char unwind_note_window[];         /* the stack window ran out */
extern const char unwind_note_no_cfi[];         /* nothing past the top frame */
extern const char unwind_note_altstack[];       /* left the copied stack */

/* Whether addr lies past t's copied stack window, on the same stack: the
 * window was full and the unwind wanted more. */
bool unwind_is_above_window(const struct modules *mods, const struct thread_capture *t, uint64_t addr);

/* The note for a walk of t whose last frame (out's) lies on another stack
 * than the copied window: a signal handler ran on an alternate signal stack
 * (sigaltstack), and the interrupted code's stack below the signal frame was
 * not copied.  NULL otherwise. */
const char *unwind_note_other_stack(const struct modules *mods, const struct thread_capture *t,
                                    const struct unwound_stack *out);

/* Ends a symbolized stack (frames[first..*n), innermost first) at the
 * first frame where a runtime begins a thread's or a coroutine's stack
 * (Go's runtime.goexit, runtime.mstart, runtime.mcall), which stays: the
 * frames past it are stale words of a stack switched away from, different
 * in threads whose stacks are the same.  Frees the frames dropped and
 * clears *note when it said the walk was cut short.  Whatever the
 * unwinder, after symbolization. */
void unwind_end_at_root(struct leakscan_frame *frames, size_t first, size_t *n, const char **note);

#endif
