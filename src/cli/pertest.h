/* Per-test runs (--per-test): list the tests of a test binary through its
 * own flags, run each in a process of its own under the at-exit check, N at
 * a time, and report per test.
 *
 * One run of a whole binary cannot see a thread that a test leaves running
 * and a global destructor stops before exit, nor say which test leaked when
 * the stack does not tell; one process per test can.  Like main.c, this is
 * a driver: it prints its report and its errors. */
#ifndef LEAKSCAN_PERTEST_H
#define LEAKSCAN_PERTEST_H

#include <stdio.h>

#include "report.h"
#include "supervise.h"

struct pertest_options {
        const struct supervise_options *supervise;      /* as --at-exit */
        const struct report_backend *backend;   /* text, json or junit */
        struct report_options report;
        const char *output;     /* -o template, or NULL: stderr */
        int error_exitcode;     /* for leaks */
        unsigned jobs;          /* tests run at once; 0: one per CPU */
};

/* Whether --per-test can write this format. */
bool pertest_format_supported(const struct report_backend *backend);

/* Lists and runs the tests of argv (argv[0] a GoogleTest, Catch2, doctest,
 * Boost.Test or GLib test binary, or pytest, py.test or python -m pytest;
 * the rest its own arguments, kept for every run) and writes the report.  Returns the exit status, by the rules of --at-exit
 * over all tests in listing order: the first test whose program failed
 * gives its status (128+N for signal N), then 124 if a --timeout struck,
 * then error_exitcode if a test leaked, else 0; 126/127 when the binary
 * cannot be run, 3 when its tests cannot be listed or checked. */
int pertest_run(char **argv, const struct pertest_options *opts);

/* The test names in what framework's listing flag printed ("googletest",
 * "catch2", "doctest", "boost.test", "glib", "pytest"), each as its own flag
 * selects it (pytest: its node ids).
 * listing is modified.  Returns 0 and a NULL-terminated array in *ret_names
 * (free each and the array) and its length, -EINVAL for an unknown
 * framework, or -ENOMEM. */
int pertest_parse_listing(const char *framework, char *listing, char ***ret_names, size_t *ret_n);

#endif
