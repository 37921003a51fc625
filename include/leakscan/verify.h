/* leakscan in-process check: goleak's VerifyNone for C and C++.
 *
 * At the end of a test, leakscan_verify_none() reports the threads of the
 * calling process that should not be there any more: every thread but the
 * calling one, the main one, those of a baseline taken earlier
 * (leakscan_baseline_take: goleak's IgnoreCurrent) and those the ignore
 * rules match (the built-in ones for runtime pools, LEAKSCAN_SUPPRESSIONS,
 * opts->ignore).  Threads that are still running or in a timed wait get the
 * same grace as `leakscan --at-exit` to finish.
 *
 * A process cannot stop and read its own threads, so a helper does it: the
 * installed leakscan-verify-helper (or $LEAKSCAN_VERIFY_HELPER, ignored in a
 * set-user-ID or set-group-ID program: secure_getenv), started with
 * posix_spawn (nothing runs between fork and exec in this process) and, under
 * Yama's ptrace_scope 1 without CAP_SYS_PTRACE, allowed to trace its parent
 * for the duration of the call (PR_SET_PTRACER naming the helper, which the
 * kernel forgets when the helper exits).  An exception the program set
 * itself with PR_SET_PTRACER (a crash handler's) cannot be read back: it is
 * replaced for the call, and the program sets it again afterwards.  The
 * helper refuses to run set-user-ID or with file capabilities, and reads
 * only the process that started it.  The process is stopped only while its
 * threads are copied, and only when threads other than the ignored ones
 * exist.
 *
 * Link with pkg-config --cflags --libs leakscan.  See docs/library.md. */
#ifndef LEAKSCAN_VERIFY_H
#define LEAKSCAN_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The threads of the calling process at one moment, by TID and start time
 * (so that a TID the kernel reuses later names a new thread).  Opaque. */
struct leakscan_baseline;

/* Records the threads alive now.  Reads /proc/self only: nothing is stopped.
 * Returns 0 and a new baseline in *ret (free with leakscan_baseline_free),
 * or a negative errno (-ENOMEM, or -ENOENT without /proc). */
int leakscan_baseline_take(struct leakscan_baseline **ret);
void leakscan_baseline_free(struct leakscan_baseline *baseline);

/* Options of leakscan_verify_none.  Initialise with
 * LEAKSCAN_VERIFY_OPTIONS_INIT (or set .size to its sizeof yourself): the
 * size tells the library which fields the caller knows, so that the struct
 * can grow at its end.  Every field's zero is the default. */
struct leakscan_verify_options {
        size_t size;            /* sizeof(struct leakscan_verify_options) */
        const struct leakscan_baseline *baseline;       /* threads to ignore, or NULL */
        int64_t grace_ms;       /* how long running and timed threads may take to
                                 * finish: 0 the default of --at-exit (500 ms),
                                 * negative none */
        const char *ignore;     /* more ignore rules, one "KIND:PATTERN" a line as
                                 * in a suppressions file (top:, any:, name:,
                                 * module:, created-by:), or NULL */
        bool no_default_ignores;        /* judge runtime pool threads too */
        bool json;              /* the report as a leakscan/1 JSON document
                                 * rather than text */
        FILE *print_to;         /* when threads leaked or the check failed, write
                                 * the report or the error here (e.g. stderr);
                                 * NULL: print nothing */
};

/* The defaults, with .size set: a compile-time initializer in C, a call in
 * C++ (before C++20 it has no designated initializers).  Inline, so that
 * the size is that of the caller's header. */
#ifdef __cplusplus
}
static inline struct leakscan_verify_options leakscan_verify_options_make(void)
{
        struct leakscan_verify_options o{};
        o.size = sizeof o;
        return o;
}
#define LEAKSCAN_VERIFY_OPTIONS_INIT leakscan_verify_options_make()
extern "C" {
#else
#define LEAKSCAN_VERIFY_OPTIONS_INIT { .size = sizeof(struct leakscan_verify_options) }
#endif

/* Checks that no thread was left behind (see the top of this file).  opts may
 * be NULL for the defaults.  Returns the number of leaked threads (0: none),
 * with, when ret_report is not NULL, the report in *ret_report: a new string
 * (free()) when threads leaked, NULL when none did.  Or a negative errno when
 * the check could not be made, with one line saying why and what to do
 * printed to opts->print_to:
 *   -ENOENT      the helper is not installed where it was configured, and
 *                LEAKSCAN_VERIFY_HELPER does not name it
 *   -EPERM       not allowed to trace (ptrace_scope 2 or 3, a container
 *                without ptrace)
 *   -EBUSY       the process is already traced (a debugger)
 *   -EINVAL      a malformed ignore rule
 *   -EOPNOTSUPP  opts sets a field this (older) library does not know
 *   -EPROTO      the helper died or answered nonsense */
int leakscan_verify_none(const struct leakscan_verify_options *opts, char **ret_report);

#ifdef __cplusplus
}
#endif
#endif
