/* Report: write a leakscan_report for a person (text) or a program (JSON).
 * Formats are backends behind a small table, so SARIF and others slot in
 * beside them.  Report backends, with main.c, are the only code that
 * prints. */
#ifndef LEAKSCAN_REPORT_H
#define LEAKSCAN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

struct report_options {
        bool all;               /* every thread, not only the leaked ones */
        bool show_ignored;      /* list the threads an ignore rule matched */
        bool color;             /* ANSI colours (text) */
};

struct report_backend {
        const char *name;
        /* Writes the whole report to f.  Returns 0 or a negative errno. */
        int (*write)(FILE *f, const struct leakscan_report *report, const struct report_options *opts);
};

extern const struct report_backend report_text;
extern const struct report_backend report_json;
extern const struct report_backend report_sarif;

/* The backend called name, or NULL. */
const struct report_backend *report_backend_find(const char *name);

/* Writes, for each group of leaked threads, a suppression line that would
 * ignore it ("top:FUNC"), for a suppressions file.  Returns 0 or -EIO. */
int report_write_suppressions(FILE *f, const struct leakscan_report *report);

/* One thread as the text report prints it (of process p), and as the JSON
 * report does: for reports made of other reports' threads (--watch). */
void report_text_thread(FILE *f, const struct leakscan_thread *t, const struct leakscan_process *p);
void report_json_thread(FILE *f, const struct leakscan_thread *t);

/* Number of leaked threads in the whole report. */
size_t report_count_leaked(const struct leakscan_report *report);

#endif
