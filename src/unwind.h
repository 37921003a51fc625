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
        /* Prepares to unwind threads of cap.  Returns 0 and the backend's
         * state in *ret_state, or a negative errno. */
        int (*attach)(struct modules *mods, struct process_capture *cap, void **ret_state);
        /* Unwinds one captured thread into *out (out->frames owned by the
         * caller).  Returns 0 or a negative errno; a partial stack is a
         * success with a note. */
        int (*unwind_thread)(void *state, const struct thread_capture *t, unsigned max_frames,
                             struct unwound_stack *out);
        void (*detach)(void *state);
};

extern const struct unwinder unwinder_libdw;
extern const struct unwinder unwinder_fp;

/* The backend called name, or NULL. */
const struct unwinder *unwinder_find(const char *name);

/* Writes the names of the backends built in, "libdw, fp", into buf. */
void unwinder_list_names(char *buf, size_t size);

/* Reads a word at addr from a thread's stack copy.  Returns true when the
 * whole word lies in the copy. */
bool unwind_read_stack(const struct thread_capture *t, uint64_t addr, uint64_t *ret);

#endif
