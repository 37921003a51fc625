/* What the two libunwind backends share (unwind-libunwind.c, the offline
 * one, and unwind-ptrace.c, the live reference): the walk of a cursor into
 * a struct unwound_stack, so that both mark activations and stop the same
 * way, and the offline backend's entry points, which the live one falls back
 * to for threads it could not unwind while they were stopped. */
#ifndef LEAKSCAN_UNWIND_LIBUNWIND_H
#define LEAKSCAN_UNWIND_LIBUNWIND_H

#include <libunwind.h>

#include "unwind.h"

enum libunwind_walk_end {
        LIBUNWIND_WALK_DONE,    /* the outermost frame: the unwind says so */
        LIBUNWIND_WALK_CAPPED,  /* the frame limit, or a runaway repeat */
        LIBUNWIND_WALK_FAILED,  /* a step failed: memory or unwind info missing */
};

/* Walks cursor c, positioned on a thread's top frame, into out (appending;
 * out->frames owned by the caller).  Frame 0, a signal frame and the frame
 * it interrupted are activations, as libdw marks them.  Returns 0 and how
 * the walk ended in *ret_end, or -ENOMEM. */
int libunwind_walk(unw_cursor_t *c, unsigned max_frames, struct unwound_stack *out,
                   enum libunwind_walk_end *ret_end);

/* The note the report gives for a walk that ended as end, window_full when
 * it tried to read above a full stack window; NULL for a complete stack. */
const char *libunwind_walk_note(enum libunwind_walk_end end, size_t n_frames, bool window_full);

#endif
