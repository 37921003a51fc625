/* leakscan's exit statuses, the one table that main.c (-p, --at-exit) and
 * pertest.c (--per-test) return and that the man page's EXIT STATUS lists.
 *
 * -p: CANNOT_INSPECT before LEAKS before OK.  --at-exit, in this order of
 * precedence: PROGRAM could not be started (NOT_FOUND, NOT_EXECUTABLE);
 * PROGRAM failed (its own status, or SIGNALED_BASE + N when killed by
 * signal N: meson's 77 and 99 pass through like any other); the --timeout
 * struck (TIMEOUT); leaks (--error-exitcode, LEAKS by default); else OK.  A
 * failure of leakscan's own (CANNOT_INSPECT) never hides PROGRAM's status:
 * a program that ran keeps it. */
#ifndef LEAKSCAN_EXITCODE_H
#define LEAKSCAN_EXITCODE_H

enum {
        EXIT_OK = 0,
        EXIT_LEAKS = 1,
        EXIT_USAGE = 2,
        EXIT_CANNOT_INSPECT = 3,
        EXIT_TIMEOUT = 124,
        EXIT_NOT_EXECUTABLE = 126,
        EXIT_NOT_FOUND = 127,
        EXIT_SIGNALED_BASE = 128,
};

#endif
