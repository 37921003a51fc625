/* Report: write a leakscan_report for a person (text), a program (JSON), a
 * code-scanning service (SARIF), a CI test view (JUnit XML), Graphviz
 * (DOT), Prometheus (metrics) or a continuous profiler (pprof).  Formats
 * are backends behind a small table.  Report backends, with
 * main.c, are the only code that prints.  Every document format is valid
 * whatever bytes the target's names hold (see report-common.h). */
#ifndef LEAKSCAN_REPORT_H
#define LEAKSCAN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

struct report_options {
        bool all;               /* every thread, not only the leaked ones */
        bool show_ignored;      /* list the threads an ignore rule matched */
        bool color;             /* ANSI colours (text) */
        bool suppressions;      /* document formats: carry a suppression line
                                 * per leak (JSON "suppressions", SARIF and
                                 * JUnit properties, DOT comments) */
        const char *source_root; /* SARIF: source paths under it are written
                                 * relative to %SRCROOT%; NULL: the current
                                 * directory */
};

struct report_backend {
        const char *name;
        const char *summary;    /* what the format is, for --help; or NULL */
        /* Writes the whole report to f.  Returns 0 or a negative errno. */
        int (*write)(FILE *f, const struct leakscan_report *report, const struct report_options *opts);
        /* -o FILE is written to a temporary file in FILE's folder, then
         * renamed onto FILE: what collectors that read whole files
         * (node_exporter's textfile collector, profilers' agents) need */
        bool atomic_output;
};

extern const struct report_backend report_text;
extern const struct report_backend report_json;
extern const struct report_backend report_sarif;
extern const struct report_backend report_junit;
extern const struct report_backend report_dot;
extern const struct report_backend report_prometheus;
extern const struct report_backend report_pprof;

/* The backend called name, or NULL. */
const struct report_backend *report_backend_find(const char *name);

/* The backends in --help's order (the first is the default): n of them
 * from report_backend_at(0). */
size_t report_backend_count(void);
const struct report_backend *report_backend_at(size_t i);

/* The suppression lines ("top:FUNC") that would ignore the leaks of the
 * report, each once, in report order.  Returns 0 or -ENOMEM; *ret_lines (a
 * NULL-terminated array, free each line and the array) and *ret_n written
 * only on success. */
int report_suppressions(const struct leakscan_report *report, char ***ret_lines, size_t *ret_n);

/* Writes those lines as a suppressions file leakscan reads back: a comment
 * naming the processes, then one line per leak.  Returns 0, -ENOMEM or
 * -EIO. */
int report_write_suppressions(FILE *f, const struct leakscan_report *report);

/* One thread as the text report prints it (of process p), and as the JSON
 * report does: for reports made of other reports' threads (--watch). */
void report_text_thread(FILE *f, const struct leakscan_thread *t, const struct leakscan_process *p);
void report_json_thread(FILE *f, const struct leakscan_thread *t);

/* Number of leaked threads in the whole report. */
size_t report_count_leaked(const struct leakscan_report *report);

#endif
