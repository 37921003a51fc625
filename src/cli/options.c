/* The table of leakscan's options and what is made from it: getopt_long's
 * long options and short-option string, --help, the usage errors, and the
 * checks of which options go together.  An option is one row: its names,
 * its value's placeholder, its --help lines and section, and either a typed
 * destination in struct cli (flag, string, duration, integer, size, with
 * bounds and the error line) or a handler for what is not one of those.
 * --help keeps the hand-set line breaks of its descriptions (a row's '\n'),
 * so that generating it changed none of its bytes; the completions are
 * generated from --help (completions/gen-completions.py) and a unit test
 * (tests/unit/test-options.c) holds the man page to the table. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exitcode.h"
#include "options.h"
#include "outpath.h"
#include "parse.h"
#include "pertest.h"
#include "reach.h"
#include "unwind.h"
#include "util.h"

#ifndef LEAKSCAN_VERSION
#define LEAKSCAN_VERSION "0"
#endif

/* The names of the report formats or of the unwinders, from their tables:
 * "a, b or c", or with summaries "a (default), b (what b is) or c", as
 * --help, the completions made from it and the error lines show them. */
enum choice_table { CHOICES_FORMATS, CHOICES_UNWINDERS };

static void choices_join(enum choice_table table, bool summaries, char *buf, size_t size)
{
        size_t n = table == CHOICES_FORMATS ? report_backend_count() : unwinder_count();
        size_t used = 0;
        buf[0] = 0;
        for (size_t i = 0; i < n && used < size; i++) {
                const char *name, *summary;
                if (table == CHOICES_FORMATS) {
                        name = report_backend_at(i)->name;
                        summary = report_backend_at(i)->summary;
                } else {
                        name = unwinder_at(i)->name;
                        summary = unwinder_at(i)->summary;
                }
                if (i == 0)
                        summary = "default";
                int k = snprintf(buf + used, size - used, "%s%s%s%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                                 name, summaries && summary ? " (" : "", summaries && summary ? summary : "",
                                 summaries && summary ? ")" : "");
                if (k < 0)
                        break;
                used += (size_t) k;
        }
}

/* The formats keep() accepts, from the table: "a, b or c". */
static void formats_join(bool (*keep)(const struct report_backend *backend), char *buf, size_t size)
{
        size_t n = 0, k = 0, used = 0;
        for (size_t i = 0; i < report_backend_count(); i++)
                n += keep(report_backend_at(i));
        buf[0] = 0;
        for (size_t i = 0; i < report_backend_count() && used < size; i++) {
                if (!keep(report_backend_at(i)))
                        continue;
                int w = snprintf(buf + used, size - used, "%s%s", k == 0 ? "" : k + 1 == n ? " or " : ", ",
                                 report_backend_at(i)->name);
                if (w < 0)
                        break;
                used += (size_t) w;
                k++;
        }
}

/* The formats --watch reports in (main.c's run_watch writes them). */
static bool watch_format_supported(const struct report_backend *backend)
{
        return backend == &report_text || backend == &report_json;
}

static void describe_format(char *buf, size_t size)
{
        choices_join(CHOICES_FORMATS, true, buf, size);
}

static void describe_unwinder(char *buf, size_t size)
{
        char list[512];
        choices_join(CHOICES_UNWINDERS, true, list, sizeof list);
        snprintf(buf, size, "how stacks are unwound: %s", list);
}

/* Where the options being parsed come from: "LEAKSCAN_OPTIONS", or NULL for
 * the command line. */
static const char *options_source;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("leakscan: ", stderr);
        vfprintf(stderr, fmt, ap);
        if (options_source)
                fprintf(stderr, " (in %s)", options_source);
        fputs(" (see leakscan --help)\n", stderr);
        va_end(ap);
        return -EINVAL;
}

/* ---- the handlers of the options that are not a typed value ---- */

static int handle_pid(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        long v;
        if (parse_int(arg, 1, INT32_MAX, &v) < 0)
                return usage_error("invalid PID '%s': expected a positive number", shown);
        cli->pid = (pid_t) v;
        return serve_options_add_pid(&cli->serve, cli->pid);     /* --serve: each -p */
}

static int handle_format(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        cli->backend = report_backend_find(arg);
        if (!cli->backend) {
                char names[256];
                choices_join(CHOICES_FORMATS, false, names, sizeof names);
                return usage_error("unknown format '%s': use %s", shown, names);
        }
        return 0;
}

static int handle_output(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        if (outpath_check(arg) < 0)
                return usage_error("invalid -o '%s': after %% use p (PID), n (a number) or %%", shown);
        cli->output = arg;
        return 0;
}

static int handle_unwinder(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        if (unwinder_absent_reason(arg)) {
                fprintf(stderr, "leakscan: unwinder '%s' is not available: %s\n", arg, unwinder_absent_reason(arg));
                return -EINVAL;
        }
        if (!unwinder_find(arg)) {
                char names[256];
                choices_join(CHOICES_UNWINDERS, false, names, sizeof names);
                return usage_error("unknown unwinder '%s': use one of %s", shown, names);
        }
        cli->supervise.inspect.unwinder = arg;
        return 0;
}

static int handle_ignore(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) shown;
        char origin[64];
        snprintf(origin, sizeof origin, "--ignore-%s", rule_kind_to_string((enum rule_kind) o->data));
        if (!*arg)
                return usage_error("%s needs a pattern", origin);
        return rules_add(&cli->rules, (enum rule_kind) o->data, arg, NULL, origin);
}

static int handle_suppressions(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o, (void) shown;
        _cleanup_free_ char *why = NULL;
        if (rules_load_file(&cli->rules, arg, &why) < 0)
                return usage_error("%s", why ? why : "out of memory");
        return 0;
}

static int handle_list_default_ignores(struct cli *cli, const struct cli_option *o, const char *arg,
                                       const char *shown)
{
        (void) cli, (void) o, (void) arg, (void) shown;
        rules_print_defaults(stdout);
        return OPTION_DONE;
}

static int handle_print_suppressions(struct cli *cli, const struct cli_option *o, const char *arg,
                                     const char *shown)
{
        (void) o, (void) shown;
        cli->print_suppressions = true;
        cli->suppressions_file = arg && *arg ? arg : NULL;
        return 0;
}

static int handle_baseline(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o, (void) shown;
        _cleanup_free_ char *why = NULL;
        baseline_done(&cli->baseline);
        if (baseline_read(arg, &cli->baseline, &why) < 0)
                return usage_error("%s", why ? why : "out of memory");
        return 0;
}

static int handle_color(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        if (!streq(arg, "auto") && !streq(arg, "always") && !streq(arg, "never"))
                return usage_error("invalid --color '%s': use auto, always or never", shown);
        cli->color = arg;
        return 0;
}

static int handle_help(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) cli, (void) o, (void) arg, (void) shown;
        options_print_help(stdout);
        return OPTION_DONE;
}

static int handle_version(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) cli, (void) o, (void) arg, (void) shown;
        printf("leakscan %s\n", LEAKSCAN_VERSION);
        return OPTION_DONE;
}

static int handle_per_test(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o, (void) arg, (void) shown;
        cli->per_test = cli->at_exit = true;
        return 0;
}

static int handle_scan_limit(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        if (reach_parse_size(arg, &cli->scan_limit) < 0)
                return usage_error("invalid size '%s' for --scan-limit: use e.g. 256M, 1G, 0 (no limit)", shown);
        return 0;
}

static int handle_serve(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o, (void) shown;
        if (!*arg)
                return usage_error("%s", "--serve needs ADDR:PORT, e.g. 127.0.0.1:9464");
        cli->serve.listen = arg;
        return 0;
}

static int handle_match(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        if (cli->serve.has_match)
                regfree(&cli->serve.match);
        cli->serve.has_match = false;
        int rc = regcomp(&cli->serve.match, arg, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
                char err[128];
                regerror(rc, &cli->serve.match, err, sizeof err);
                return usage_error("invalid --match '%s': %s", shown, err);
        }
        cli->serve.has_match = true;
        return 0;
}

static int handle_cpu_budget(struct cli *cli, const struct cli_option *o, const char *arg, const char *shown)
{
        (void) o;
        char *end;
        double d = strtod(arg, &end);
        if (end != arg && streq(end, "%"))
                d /= 100;
        else if (end == arg || *end)
                d = -1;
        if (!(d > 0 && d <= 1))
                return usage_error("invalid --cpu-budget '%s': use e.g. 2%% (of one CPU), up to 100%%", shown);
        cli->serve.cpu_budget = d;
        return 0;
}

/* ---- the table ---- */

#define DEST(field) .offset = offsetof(struct cli, field), .width = sizeof(((struct cli *) 0)->field)
#define FLAG(field) .value = VALUE_TRUE, DEST(field)
#define STRING(field) .value = VALUE_STRING, DEST(field)
#define HANDLER(f) .value = VALUE_HANDLER, .handle = (f)

static const struct cli_option options[] = {
        /* Mode */
        { "pid", 'p', OPTION_ARG, "PID", SECTION_MODE, "the process to inspect", HANDLER(handle_pid) },
        { "save-snapshot", 0, OPTION_ARG, "FILE", SECTION_MODE,
          "-p: also keep what was read of it in FILE\n"
          "(leakscan-snapshot/1; holds its memory: mode 0600)", STRING(save_snapshot) },
        { "from-snapshot", 0, OPTION_ARG, "FILE", SECTION_MODE,
          "report on a saved snapshot, reading no process\n"
          "and needing no privileges", STRING(from_snapshot) },
        { "at-exit", 0, OPTION_NO_ARG, NULL, SECTION_MODE, "run PROGRAM; judge it when it calls exit",
          FLAG(at_exit) },

        /* Judging a running process (-p) */
        { "idle", 0, OPTION_NO_ARG, NULL, SECTION_PID,
          "also report idle threads: indefinite waits that\n"
          "someone alive could still end (worker pools...)", FLAG(idle) },
        { "min-blocked", 0, OPTION_ARG, "DURATION", SECTION_PID,
          "with --idle, only those idle at least this\n"
          "long (default 1s; 0: every one)",
          .value = VALUE_DURATION, DEST(min_blocked_ms), .min = 0, .max = INT64_MAX,
          .error = "invalid duration '%s' for --min-blocked: use e.g. 500ms, 2s, 0" },
        { "scan-limit", 0, OPTION_ARG, "SIZE", SECTION_PID,
          "read at most SIZE of the process's memory (and of\n"
          "the bytes in its pipes) to prove a wait object\n"
          "unreachable (default 256M; 0: no limit); past\n"
          "it reachability is unknown: idle", HANDLER(handle_scan_limit) },
        { "save-baseline", 0, OPTION_ARG, "FILE", SECTION_PID,
          "write the threads present now (TID, start time)", STRING(save_baseline) },
        { "baseline", 0, OPTION_ARG, "FILE", SECTION_PID,
          "ignore the threads FILE lists (a reused TID is new)", HANDLER(handle_baseline) },
        { "watch", 0, OPTION_ARG, "DURATION", SECTION_PID,
          "snapshot over DURATION and report the groups of\n"
          "identical stacks whose thread count grew",
          .value = VALUE_DURATION, DEST(watch_ms), .min = 1, .max = INT64_MAX,
          .error = "invalid --watch '%s': use e.g. 60s or 10m" },
        { "interval", 0, OPTION_ARG, "DURATION", SECTION_PID,
          "time between --watch snapshots (default 1s), or\n"
          "between --serve's cycles (default 60s)",
          .value = VALUE_DURATION, DEST(interval_ms), .min = 10, .max = INT64_MAX,
          .error = "invalid --interval '%s': use e.g. 1s or 200ms (10ms at least)" },

        /* Running a program (--at-exit) */
        { "grace", 0, OPTION_ARG, "DURATION", SECTION_AT_EXIT,
          "at exit, let running and timed threads finish\n"
          "for up to this long (default 500ms; 0: off)",
          .value = VALUE_DURATION, DEST(supervise.grace_ms), .min = 0, .max = 3600000,
          .error = "invalid --grace '%s': use e.g. 500ms, 2s, 0" },
        { "follow-forks", 0, OPTION_NO_ARG, NULL, SECTION_AT_EXIT, "also judge the processes PROGRAM starts",
          FLAG(supervise.follow_forks) },
        { "timeout", 0, OPTION_ARG, "DURATION", SECTION_AT_EXIT,
          "if PROGRAM has not exited by then, report all its\n"
          "threads, kill it and exit 124",
          .value = VALUE_DURATION, DEST(supervise.timeout_ms), .min = 1, .max = INT64_MAX,
          .error = "invalid --timeout '%s': use e.g. 30s or 5m" },
        { "per-test", 0, OPTION_NO_ARG, NULL, SECTION_AT_EXIT,
          "PROGRAM is a GoogleTest, Catch2, doctest,\n"
          "Boost.Test or GLib binary, or a pytest run: run\n"
          "each of its tests alone under the at-exit check\n"
          "and report per test", HANDLER(handle_per_test) },
        { "jobs", 'j', OPTION_ARG, "N", SECTION_AT_EXIT, "--per-test: N tests at once (default: one per CPU)",
          .value = VALUE_INT, DEST(jobs), .min = 1, .max = 1024,
          .error = "invalid -j '%s': expected 1 to 1024 tests at once" },

        /* Ignoring threads */
        { "ignore-top", 0, OPTION_ARG, "FUNC", SECTION_IGNORING, "FUNC is on top of the stack",
          HANDLER(handle_ignore), .data = RULE_TOP },
        { "ignore-any", 0, OPTION_ARG, "FUNC", SECTION_IGNORING, "FUNC is anywhere in the stack",
          HANDLER(handle_ignore), .data = RULE_ANY },
        { "ignore-created-by", 0, OPTION_ARG, "FUNC", SECTION_IGNORING, "FUNC is in the stack that created it",
          HANDLER(handle_ignore), .data = RULE_CREATED_BY },
        { "ignore-name", 0, OPTION_ARG, "NAME", SECTION_IGNORING, "the thread is called NAME",
          HANDLER(handle_ignore), .data = RULE_NAME },
        { "ignore-module", 0, OPTION_ARG, "GLOB", SECTION_IGNORING, "a frame is in that library",
          HANDLER(handle_ignore), .data = RULE_MODULE },
        { "suppressions", 0, OPTION_ARG, "FILE", SECTION_IGNORING,
          "rules from FILE, one KIND:PATTERN a line\n"
          "(also LEAKSCAN_SUPPRESSIONS=FILE[:FILE...])", HANDLER(handle_suppressions) },
        { "no-default-ignores", 0, OPTION_NO_ARG, NULL, SECTION_IGNORING,
          "judge runtime pool threads (OpenMP, GLib...) too", FLAG(no_default_ignores) },
        { "list-default-ignores", 0, OPTION_NO_ARG, NULL, SECTION_IGNORING,
          "print the built-in ignore list and exit", HANDLER(handle_list_default_ignores) },
        { "show-ignored", 0, OPTION_NO_ARG, NULL, SECTION_IGNORING, "list the ignored threads with their rule",
          FLAG(report.show_ignored) },
        { "print-suppressions", 0, OPTION_OPTIONAL_ARG, "FILE", SECTION_IGNORING,
          "a suppression line for each leak: inside a json,\n"
          "sarif, junit or dot document; with text on stdout,\n"
          "the report going to stderr ('>> leakscan.supp')",
          .help_with_arg = "the same lines, appended to FILE", HANDLER(handle_print_suppressions) },

        /* Output */
        { "all", 'a', OPTION_NO_ARG, NULL, SECTION_OUTPUT, "print every thread, not only the leaked ones\n"
          "(--at-exit: also unwind a process's only\nthread, in its exit)",
          FLAG(report.all) },
        { "format", 0, OPTION_ARG, "FORMAT", SECTION_OUTPUT, NULL, describe_format, HANDLER(handle_format) },
        { "output", 'o', OPTION_ARG, "FILE", SECTION_OUTPUT,
          "write the report to FILE instead of stdout; %p in\n"
          "FILE is the PID judged, %n the first free number", HANDLER(handle_output) },
        { "source-root", 0, OPTION_ARG, "DIR", SECTION_OUTPUT,
          "sarif: source paths relative to DIR (default: the\n"
          "current directory)", STRING(report.source_root) },
        { "color", 0, OPTION_ARG, "WHEN", SECTION_OUTPUT,
          "auto (default: on a terminal, unless NO_COLOR is\n"
          "set), always or never", HANDLER(handle_color) },
        { "error-exitcode", 0, OPTION_ARG, "N", SECTION_OUTPUT, "exit status when leaks are found (default 1)",
          .value = VALUE_INT, DEST(error_exitcode), .min = 0, .max = 255,
          .error = "invalid --error-exitcode '%s': expected 0 to 255" },

        /* Watching a fleet (--serve) */
        { "serve", 0, OPTION_ARG, "ADDR:PORT", SECTION_SERVE,
          "run as a Prometheus exporter: snapshot the targets\n"
          "every --interval (default 60s) and serve /metrics,\n"
          "/report.json, /debug/pprof/threads and /healthz;\n"
          "ADDR defaults to 127.0.0.1 (:PORT); targets:\n"
          "-p PID (repeatable) and the processes that pass:", HANDLER(handle_serve) },
        { "all-processes", 0, OPTION_NO_ARG, NULL, SECTION_SERVE,
          "every process it may trace (not itself, not kernel\n"
          "threads)", FLAG(serve.all_processes) },
        { "match", 0, OPTION_ARG, "REGEX", SECTION_SERVE, "command name or executable path matches (ERE)",
          HANDLER(handle_match) },
        { "cgroup", 0, OPTION_ARG, "PATH", SECTION_SERVE, "in cgroup PATH or below (a container, a unit)",
          STRING(serve.cgroup) },
        { "cpu-budget", 0, OPTION_ARG, "PERCENT", SECTION_SERVE,
          "CPU of one core it may use (default 2%); the\n"
          "interval stretches to keep it", HANDLER(handle_cpu_budget) },
        { "web.config.file", 0, OPTION_ARG, "FILE", SECTION_SERVE,
          "TLS and basic auth, in the format of Prometheus's\n"
          "exporters (tls_server_config, basic_auth_users)", STRING(serve.web_config) },
        { "visible-stops", 0, OPTION_NO_ARG, NULL, SECTION_SERVE,
          "also snapshot targets that can be read only by\n"
          "stopping a thread inside a call (skipped by default)", FLAG(serve.visible_stops) },

        /* Unwinding */
        { "unwinder", 0, OPTION_ARG, "NAME", SECTION_UNWINDING, NULL, describe_unwinder,
          HANDLER(handle_unwinder) },
        { "stack-window", 0, OPTION_ARG, "SIZE", SECTION_UNWINDING, "stack bytes copied per thread (default 64K)",
          .value = VALUE_SIZE, DEST(supervise.inspect.stack_window), .min = 256, .max = 64 << 20,
          .error = "invalid --stack-window '%s': expected 256 bytes to 64M" },
        { "max-frames", 0, OPTION_ARG, "N", SECTION_UNWINDING, "frames per stack at most (default 256)",
          .value = VALUE_INT, DEST(supervise.inspect.max_frames), .min = 1, .max = 100000,
          .error = "invalid --max-frames '%s': expected 1 to 100000" },
        { "system-lines", 0, OPTION_NO_ARG, NULL, SECTION_UNWINDING,
          "also show source lines and inlined frames inside\n"
          "libc and other system libraries (loads their\n"
          "debug info: slower)", FLAG(supervise.inspect.system_lines) },
        { "stop-timeout", 0, OPTION_ARG, "DURATION", SECTION_UNWINDING,
          "wait this long for a thread to stop\n"
          "(default 2s)",
          .value = VALUE_DURATION, DEST(supervise.inspect.stop_timeout_ms), .min = 1, .max = 600000,
          .error = "invalid --stop-timeout '%s': use e.g. 500ms or 5s" },

        /* the rest */
        { "help", 'h', OPTION_NO_ARG, NULL, SECTION_OTHER, "show this help", HANDLER(handle_help) },
        { "version", 'V', OPTION_NO_ARG, NULL, SECTION_OTHER, "show the version", HANDLER(handle_version) },
};

size_t options_count(void)
{
        return ARRAY_SIZE(options);
}

const struct cli_option *option_at(size_t i)
{
        return i < ARRAY_SIZE(options) ? &options[i] : NULL;
}

/* ---- --help ---- */

/* Each section of --help: its heading (none for the last) and the text
 * that closes it. */
static const struct {
        const char *title;
        const char *trailer;
} sections[_SECTION_MAX] = {
        [SECTION_MODE] = { .title = "Mode:" },
        [SECTION_PID] = { .title = "Judging a running process (-p):" },
        [SECTION_AT_EXIT] = { .title = "Running a program (--at-exit):" },
        [SECTION_IGNORING] = { .title = "Ignoring threads (shell globs on demangled names; each repeatable):" },
        [SECTION_OUTPUT] = { .title = "Output:" },
        [SECTION_SERVE] = { .title = "Watching a fleet (--serve):",
                            .trailer =
                            "      Skipped and counted: real-time threads, a process already traced, and\n"
                            "      opt-outs: " SERVE_OPTOUT_ENV "=1 in its environment or the "
                            SERVE_OPTOUT_XATTR "\n"
                            "      xattr on its executable.\n" },
        [SECTION_UNWINDING] = { .title = "Unwinding:" },
        [SECTION_OTHER] = { .title = NULL },
};

enum { HELP_DESC_COLUMN = 28, HELP_WIDTH = 80 };

/* "  -p, --pid=PID" or "      --grace=DURATION", padded to the description
 * column (or two blanks past it).  Returns the column reached. */
static int print_option_names(FILE *f, const struct cli_option *o, bool with_arg)
{
        char names[128];
        snprintf(names, sizeof names, "  %c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name, with_arg ? "=" : "",
                 with_arg ? o->metavar : "");
        return fprintf(f, "%-*s  ", HELP_DESC_COLUMN - 2, names);
}

/* A description written with its own line breaks ('\n': the next line at
 * the description column). */
static void print_lines(FILE *f, const char *desc)
{
        for (;;) {
                size_t n = strcspn(desc, "\n");
                fprintf(f, "%.*s\n", (int) n, desc);
                if (!desc[n])
                        return;
                desc += n + 1;
                fprintf(f, "%*s", HELP_DESC_COLUMN, "");
        }
}

/* A description made from another table: wrapped at HELP_WIDTH. */
static void print_wrapped(FILE *f, int col, const char *desc)
{
        bool first = true;
        while (*desc) {
                size_t word = strcspn(desc, " ");
                if (!first && col + 1 + (int) word > HELP_WIDTH) {
                        fprintf(f, "\n%*s", HELP_DESC_COLUMN, "");
                        col = HELP_DESC_COLUMN;
                        first = true;
                }
                col += fprintf(f, "%s%.*s", first ? "" : " ", (int) word, desc);
                first = false;
                desc += word;
                desc += strspn(desc, " ");
        }
        fputc('\n', f);
}

static void print_option(FILE *f, const struct cli_option *o)
{
        int col = print_option_names(f, o, o->arg == OPTION_ARG);
        if (o->help)
                print_lines(f, o->help);
        else {
                char desc[600];
                o->describe(desc, sizeof desc);
                print_wrapped(f, col, desc);
        }
        if (o->arg == OPTION_OPTIONAL_ARG && o->help_with_arg) {
                print_option_names(f, o, true);
                print_lines(f, o->help_with_arg);
        }
}

void options_print_help(FILE *f)
{
        fputs("Usage: leakscan [OPTIONS] -p PID\n"
              "       leakscan [OPTIONS] --at-exit [--] PROGRAM [ARGS...]\n"
              "       leakscan [OPTIONS] --per-test [-j N] [--] TEST_PROGRAM [ARGS...]\n"
              "       leakscan [OPTIONS] --from-snapshot=FILE\n"
              "\n"
              "Snapshot every thread of a running process, let it go, and report the\n"
              "threads that are leaked: deadlocked, waiting for what nothing alive can\n"
              "release, or on an object nobody can reach any more, with the symbolized\n"
              "stack and what they wait on.  With --at-exit, run PROGRAM and report the\n"
              "threads still alive when it exits, with the stack that created each.\n"
              "Options go before PROGRAM: what follows it is PROGRAM's own.\n",
              f);
        for (size_t s = 0; s < _SECTION_MAX; s++) {
                fputc('\n', f);
                if (sections[s].title)
                        fprintf(f, "%s\n", sections[s].title);
                for (size_t i = 0; i < ARRAY_SIZE(options); i++)
                        if (options[i].section == s)
                                print_option(f, &options[i]);
                if (sections[s].trailer)
                        fputs(sections[s].trailer, f);
        }
        fprintf(f,
                "\n"
                "DURATION: 500ms, 1.5s, 2m (a bare number is seconds).  SIZE: 65536, 64K, 1M.\n"
                "LEAKSCAN_OPTIONS in the environment holds default options.\n"
                "Exit status: %d no leaks, %d leaks found, %d usage error, %d could not inspect.\n"
                "With --at-exit: PROGRAM's own failure status first (%d+N if killed by\n"
                "signal N), %d on --timeout, %d/%d if it cannot be run; the report goes to\n"
                "stderr (or -o FILE) and says nothing when no thread leaked.\n",
                EXIT_OK, EXIT_LEAKS, EXIT_USAGE, EXIT_CANNOT_INSPECT, EXIT_SIGNALED_BASE, EXIT_TIMEOUT,
                EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND);
}

/* ---- parsing ---- */

/* getopt_long's value for options[i]: its short letter, or past any char. */
enum { LONG_ONLY_BASE = 256 };

static int getopt_val(size_t i)
{
        return options[i].short_name ? options[i].short_name : LONG_ONLY_BASE + (int) i;
}

static const struct cli_option *option_by_val(int c)
{
        if (c >= LONG_ONLY_BASE)
                return option_at((size_t) (c - LONG_ONLY_BASE));
        for (size_t i = 0; i < ARRAY_SIZE(options); i++)
                if (options[i].short_name && options[i].short_name == c)
                        return &options[i];
        return NULL;
}

/* Stores v into o's field, as wide as the field is. */
static void store(struct cli *cli, const struct cli_option *o, int64_t v)
{
        char *p = (char *) cli + o->offset;
        switch (o->width) {
        case 1:
                *(bool *) p = v != 0;
                break;
        case 4:
                *(uint32_t *) p = (uint32_t) v;
                break;
        case 8:
                *(int64_t *) p = v;
                break;
        default:
                abort();        /* a row of the table is wrong: the unit test says which */
        }
}

static int apply(struct cli *cli, const struct cli_option *o, const char *arg)
{
        /* a value quoted back in an error line: short and escaped */
        char shown[256] = "";
        if (arg)
                escape_excerpt(arg, 60, shown, sizeof shown);
        switch (o->value) {
        case VALUE_HANDLER:
                return o->handle(cli, o, arg, shown);
        case VALUE_TRUE:
                store(cli, o, 1);
                return 0;
        case VALUE_STRING:
                *(const char **) ((char *) cli + o->offset) = arg;
                return 0;
        case VALUE_DURATION: {
                int64_t ms;
                if (parse_duration_ms(arg, &ms) < 0 || ms < o->min || ms > o->max)
                        return usage_error(o->error, shown);
                store(cli, o, ms);
                return 0;
        }
        case VALUE_INT: {
                long v;
                if (parse_int(arg, (long) o->min, (long) o->max, &v) < 0)
                        return usage_error(o->error, shown);
                store(cli, o, v);
                return 0;
        }
        case VALUE_SIZE: {
                size_t v;
                if (parse_size(arg, &v) < 0 || v < (uint64_t) o->min || v > (uint64_t) o->max)
                        return usage_error(o->error, shown);
                store(cli, o, (int64_t) v);
                return 0;
        }
        }
        abort();
}

/* Parses argv's options into cli.  Returns 1 to go on, 0 to exit
 * successfully, or a negative errno (the error printed). */
static int parse_argv(int argc, char **argv, struct cli *cli)
{
        struct option longopts[ARRAY_SIZE(options) + 1];
        char shortopts[1 + 3 * ARRAY_SIZE(options) + 1], *s = shortopts;
        /* '+': the first word that is no option is PROGRAM, and what
         * follows is PROGRAM's own */
        *s++ = '+';
        for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
                longopts[i] = (struct option) { options[i].name, (int) options[i].arg, NULL, getopt_val(i) };
                if (options[i].short_name) {
                        *s++ = options[i].short_name;
                        if (options[i].arg != OPTION_NO_ARG)
                                *s++ = ':';
                        if (options[i].arg == OPTION_OPTIONAL_ARG)
                                *s++ = ':';
                }
        }
        longopts[ARRAY_SIZE(options)] = (struct option) {};
        *s = 0;

        int c;
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                const struct cli_option *o = option_by_val(c);
                if (!o) {
                        /* getopt_long said what is wrong */
                        fputs("leakscan: see leakscan --help for the options\n", stderr);
                        return -EINVAL;
                }
                int r = apply(cli, o, optarg);
                if (r < 0)
                        return r;
                if (r == OPTION_DONE)
                        return 0;
        }
        return 1;
}

/* Once every option is in: the defaults that depend on others, and the
 * combinations that do not go together.  argv[optind] is the first word
 * that is no option.  Returns 1 or -EINVAL (printed) or -ENOMEM. */
static int finish(int argc, char **argv, struct cli *cli)
{
        _cleanup_free_ char *why = NULL;
        if (rules_load_env(&cli->rules, &why) < 0)
                return usage_error("%s", why ? why : "out of memory");
        if (!cli->no_default_ignores && rules_add_defaults(&cli->rules) < 0)
                return -ENOMEM;
        cli->judge = (struct judge_policy) {
                .mode = JUDGE_PID,
                .idle = cli->idle,
                .min_blocked_ms = cli->min_blocked_ms,
                .rules = &cli->rules,
                .baseline = cli->baseline.path ? &cli->baseline : NULL,
        };
        cli->supervise.judge = &cli->judge;
        if (cli->serve.listen) {
                struct serve_options *so = &cli->serve;
                if (cli->at_exit || cli->watch_ms || cli->save_baseline || optind < argc)
                        return usage_error("%s", "--serve goes with -p, --all-processes, --match or --cgroup only");
                if (!so->n_pids && !so->all_processes && !so->has_match && !so->cgroup)
                        return usage_error("%s", "--serve needs targets: -p PID, --all-processes, --match=REGEX "
                                           "or --cgroup=PATH");
                so->interval_ms = cli->interval_ms ? cli->interval_ms : SERVE_DEFAULT_INTERVAL_MS;
                if (!so->cpu_budget)
                        so->cpu_budget = SERVE_DEFAULT_CPU_BUDGET;
                so->inspect = cli->supervise.inspect;
                so->inspect.refuse_visible_stop = !so->visible_stops;
                so->scan_limit = cli->scan_limit;
                so->judge = &cli->judge;
                return 1;
        }
        if (cli->serve.all_processes || cli->serve.has_match || cli->serve.cgroup || cli->serve.cpu_budget ||
            cli->serve.web_config || cli->serve.visible_stops)
                return usage_error("%s", "--all-processes, --match, --cgroup, --cpu-budget, --web.config.file and "
                                   "--visible-stops go with --serve");
        if (cli->idle && cli->at_exit)
                return usage_error("%s", "--idle goes with -p: at exit every thread alive is reported");
        if (cli->from_snapshot && (cli->pid || cli->at_exit || cli->watch_ms || cli->save_snapshot))
                return usage_error("%s", "--from-snapshot excludes -p, --at-exit, --watch and --save-snapshot");
        if (cli->save_snapshot && (cli->at_exit || cli->watch_ms))
                return usage_error("%s", "--save-snapshot goes with -p alone (not --at-exit or --watch)");
        if (cli->at_exit) {
                if (cli->pid)
                        return usage_error("%s", "-p and --at-exit exclude each other");
                if (cli->save_baseline || cli->baseline.path || cli->watch_ms)
                        return usage_error("%s", "--save-baseline, --baseline and --watch go with -p");
                if (optind >= argc)
                        return usage_error("%s", "--at-exit needs a PROGRAM to run");
                if (cli->per_test && !pertest_format_supported(cli->backend)) {
                        char names[256];
                        formats_join(pertest_format_supported, names, sizeof names);
                        return usage_error("--per-test reports in %s, not %s", names, cli->backend->name);
                }
                if (cli->print_suppressions && cli->per_test)
                        return usage_error("%s", "--print-suppressions does not go with --per-test");
                cli->program = argv + optind;
                cli->supervise.unwind_alone = cli->report.all;
                return 1;
        }
        if (cli->jobs)
                return usage_error("%s", "-j goes with --per-test");
        if (cli->supervise.follow_forks || cli->supervise.timeout_ms)
                return usage_error("%s", "--follow-forks and --timeout go with --at-exit");
        if (cli->watch_ms && !watch_format_supported(cli->backend)) {
                char names[256];
                formats_join(watch_format_supported, names, sizeof names);
                return usage_error("--watch reports in %s, not %s", names, cli->backend->name);
        }
        for (int i = optind + 1; i < argc; i++)
                if (streq(argv[i], "--at-exit"))
                        return usage_error("--at-exit comes after PROGRAM '%s': options go before PROGRAM, "
                                           "as in leakscan --at-exit -- %s", argv[optind], argv[optind]);
        if (optind < argc)
                return usage_error("unexpected argument '%s' (to run a program, use --at-exit)", argv[optind]);
        if (cli->pid == 0 && !cli->from_snapshot)
                return usage_error("%s", "no process given: use -p PID, or --at-exit PROGRAM");
        return 1;
}

/* LEAKSCAN_OPTIONS: default options, as the sanitizers' *_OPTIONS, parsed
 * before the command line so that the command line's win.  Split as the
 * shell would (quotes and backslashes) but with no expansion, and parsed on
 * their own: an option missing its value there cannot take the first word
 * of the command line, and its errors say where they come from.  Returns 1
 * to go on, 0 to exit successfully, or a negative errno (printed). */
static char **env_words;

static int parse_env(struct cli *cli)
{
        const char *env = getenv("LEAKSCAN_OPTIONS");
        if (!env || !*env)
                return 1;
        _cleanup_strv_free_ char **words = NULL;
        _cleanup_free_ char **argv = NULL;
        size_t n_words;
        const char *why = "out of memory";
        int r = parse_shell_words(env, &words, &n_words, &why);
        if (r >= 0 && !(argv = calloc(n_words + 2, sizeof *argv)))
                r = -ENOMEM;
        if (r < 0) {
                fprintf(stderr, "leakscan: cannot split LEAKSCAN_OPTIONS: %s\n", why);
                return r;
        }
        argv[0] = "leakscan (LEAKSCAN_OPTIONS)";        /* getopt's messages start with it */
        memcpy(argv + 1, words, n_words * sizeof *argv);
        options_source = "LEAKSCAN_OPTIONS";
        r = parse_argv((int) n_words + 1, argv, cli);
        if (r > 0 && optind <= (int) n_words)
                r = usage_error("unexpected argument '%s': only options go there", argv[optind]);
        options_source = NULL;
        optind = 0;             /* getopt starts afresh on the command line */
        if (r > 0) {
                /* the values point into words: kept for the life of the
                 * process */
                strv_free(env_words);
                env_words = words;
                words = NULL;
        }
        return r;
}

int options_parse(int argc, char **argv, struct cli *cli)
{
        int r = parse_env(cli);
        if (r <= 0)
                return r;
        r = parse_argv(argc, argv, cli);
        if (r <= 0)
                return r;
        return finish(argc, argv, cli);
}
