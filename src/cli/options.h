/* leakscan's command-line options: one table from which getopt_long's
 * arrays, --help, the usage errors, and through --help the completions are
 * all made, and against which a unit test checks the man page.  An option
 * is added in one place (options.c) and cannot reach the user half-done.
 *
 * Takes: argv and LEAKSCAN_OPTIONS.  Gives: a filled struct cli, checked
 * for combinations that do not go together, for main.c to run.
 *
 * Adding an option: a row in options.c's table (in its --help section), a
 * field in struct cli if it stores a value, the combinations it excludes in
 * finish(), and its paragraph in docs/leakscan.1's OPTIONS, which
 * tests/unit/test-options.c requires; the completions follow --help. */
#ifndef LEAKSCAN_OPTIONS_H
#define LEAKSCAN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "baseline.h"
#include "judge.h"
#include "report.h"
#include "rules.h"
#include "serve.h"
#include "supervise.h"

/* What the options ask for: main.c sets the defaults, options_parse the
 * rest, main.c runs it. */
struct cli {
        pid_t pid;
        bool at_exit;
        char **program;         /* --at-exit: argv of PROGRAM */
        const char *output;
        const struct report_backend *backend;
        struct report_options report;
        struct supervise_options supervise;     /* .inspect serves -p too */
        int error_exitcode;
        struct rule_set rules;
        bool no_default_ignores;
        bool print_suppressions;
        const char *suppressions_file;  /* --print-suppressions=FILE */
        bool per_test;                  /* --per-test: PROGRAM's tests one by one */
        unsigned jobs;                  /* --per-test -j N; 0: one per CPU */
        bool idle;
        uint64_t scan_limit;    /* -p: bytes read at most to prove unreachable */
        int64_t min_blocked_ms; /* --idle: how long idle at least */
        const char *color;      /* auto, always, never */
        const char *save_baseline;
        struct baseline baseline;
        int64_t watch_ms;       /* 0: one snapshot */
        int64_t interval_ms;
        struct judge_policy judge;      /* -p; --at-exit sets the mode per process */
        struct serve_options serve;     /* --serve: listen is set */
        const char *save_snapshot;      /* -p: --save-snapshot=FILE */
        const char *from_snapshot;
        bool sandboxed;                 /* this is the analyser (sandbox.h) */
        bool hold_analyser;             /* LEAKSCAN_TEST_HOLD_ANALYSER: it waits for
                                         * stdin's end once confined (tests) */
};

/* Whether an option takes a value, as getopt_long's has_arg. */
enum option_arg {
        OPTION_NO_ARG,
        OPTION_ARG,
        OPTION_OPTIONAL_ARG,
};

/* The heading of --help an option is listed under, in --help's order. */
enum option_section {
        SECTION_MODE,
        SECTION_PID,
        SECTION_AT_EXIT,
        SECTION_IGNORING,
        SECTION_OUTPUT,
        SECTION_SERVE,
        SECTION_UNWINDING,
        SECTION_OTHER,
        _SECTION_MAX,
};

/* How a value is stored when the option has no handler of its own: into
 * the field of struct cli at offset (width bytes wide), after a check
 * against [min, max] whose failure prints error (one %s: the value). */
enum option_value {
        VALUE_HANDLER,          /* handle() does it all */
        VALUE_TRUE,             /* a bool set to true */
        VALUE_STRING,           /* a const char * pointing into argv */
        VALUE_DURATION,         /* milliseconds (parse_duration_ms) */
        VALUE_INT,              /* a decimal integer (parse_int) */
        VALUE_SIZE,             /* bytes (parse_size) */
};

/* Returned by a handler that answered the command line by itself (--help,
 * --version, --list-default-ignores): leakscan exits successfully. */
#define OPTION_DONE 1

struct cli_option {
        const char *name;               /* long name, without "--" */
        char short_name;                /* 0: none */
        enum option_arg arg;
        const char *metavar;            /* the value's placeholder in --help: "FILE" */
        enum option_section section;
        /* --help's description; each '\n' starts a line at the description
         * column.  NULL: describe() writes it from another table (formats,
         * unwinders) and it is wrapped at 80 columns. */
        const char *help;
        void (*describe)(char *buf, size_t size);
        /* OPTION_OPTIONAL_ARG: the line of --name=METAVAR, after the bare
         * --name's */
        const char *help_with_arg;
        enum option_value value;
        size_t offset, width;
        int64_t min, max;
        const char *error;
        /* VALUE_HANDLER: arg is the value (NULL without one), shown the same
         * quoted back for an error line (escaped, shortened).  Returns 0,
         * OPTION_DONE, or -EINVAL with the error printed, or -ENOMEM. */
        int (*handle)(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown);
        int data;                       /* for handle: the rule kind of --ignore-* */
};

/* The table, in --help's order. */
size_t options_count(void);
const struct cli_option *option_at(size_t i);

/* Writes --help to f. */
void options_print_help(FILE *f);

/* Parses LEAKSCAN_OPTIONS (default options, split as the shell would with
 * no expansion) and then argv into cli, which the caller has set to its
 * defaults, and checks that the options go together.  Returns 1 to run
 * (cli->program points into argv for --at-exit), 0 to exit successfully
 * (--help, --version, --list-default-ignores: answered on stdout), -EINVAL
 * after printing the usage error, or -ENOMEM.  The caller frees cli's
 * rules, baseline and serve options in every case. */
int options_parse(int argc, char **argv, struct cli *cli);

#endif
