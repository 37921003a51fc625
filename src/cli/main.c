/* leakscan command line: parses options and wires the steps (inspect, then
 * a report backend).  It is, with the report backends, the only code that
 * prints; every failure is one line naming the cause and the remedy. */
#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "atomicfile.h"
#include "baseline.h"
#include "leakscan/leakscan.h"
#include "outpath.h"
#include "parse.h"
#include "pertest.h"
#include "report.h"
#include "rules.h"
#include "serve.h"
#include "supervise.h"
#include "inspect.h"
#include "judge.h"
#include "exitcode.h"
#include "capturer.h"
#include "sandbox.h"
#include "snapshot.h"
#include "reach.h"
#include "track.h"
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

/* One option of --help: its name in the first 28 columns, then desc
 * wrapped at 80 columns, the way the hand-written lines are. */
static void print_option_help(FILE *f, const char *option, const char *desc)
{
        enum { DESC_COLUMN = 28, WIDTH = 80 };
        int col = fprintf(f, "%-*s", DESC_COLUMN, option);
        bool first = true;
        while (*desc) {
                size_t word = strcspn(desc, " ");
                if (!first && col + 1 + (int) word > WIDTH) {
                        fprintf(f, "\n%*s", DESC_COLUMN, "");
                        col = DESC_COLUMN;
                        first = true;
                }
                col += fprintf(f, "%s%.*s", first ? "" : " ", (int) word, desc);
                first = false;
                desc += word;
                desc += strspn(desc, " ");
        }
        fputc('\n', f);
}

static void print_help(FILE *f)
{
        char list[512], desc[600];
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
              "Options go before PROGRAM: what follows it is PROGRAM's own.\n"
              "\n"
              "Mode:\n"
              "  -p, --pid=PID             the process to inspect\n"
              "      --save-snapshot=FILE  -p: also keep what was read of it in FILE\n"
              "                            (leakscan-snapshot/1; holds its memory: mode 0600)\n"
              "      --from-snapshot=FILE  report on a saved snapshot, reading no process\n"
              "                            and needing no privileges\n"
              "      --at-exit             run PROGRAM; judge it when it calls exit\n"
              "\n"
              "Judging a running process (-p):\n"
              "      --idle                also report idle threads: indefinite waits that\n"
              "                            someone alive could still end (worker pools...)\n"
              "      --min-blocked=DURATION  with --idle, only those idle at least this\n"
              "                            long (default 1s; 0: every one)\n"
              "      --scan-limit=SIZE     read at most SIZE of the process's memory (and of\n"
              "                            the bytes in its pipes) to prove a wait object\n"
              "                            unreachable (default 256M; 0: no limit); past\n"
              "                            it reachability is unknown: idle\n"
              "      --save-baseline=FILE  write the threads present now (TID, start time)\n"
              "      --baseline=FILE       ignore the threads FILE lists (a reused TID is new)\n"
              "      --watch=DURATION      snapshot over DURATION and report the groups of\n"
              "                            identical stacks whose thread count grew\n"
              "      --interval=DURATION   time between --watch snapshots (default 1s), or\n"
              "                            between --serve's cycles (default 60s)\n"
              "\n"
              "Running a program (--at-exit):\n"
              "      --grace=DURATION      at exit, let running and timed threads finish\n"
              "                            for up to this long (default 500ms; 0: off)\n"
              "      --follow-forks        also judge the processes PROGRAM starts\n"
              "      --timeout=DURATION    if PROGRAM has not exited by then, report all its\n"
              "                            threads, kill it and exit 124\n"
              "      --per-test            PROGRAM is a GoogleTest, Catch2, doctest,\n"
              "                            Boost.Test or GLib binary: run each of its tests\n"
              "                            alone\n"
              "                            under the at-exit check and report per test\n"
              "  -j, --jobs=N              --per-test: N tests at once (default: one per CPU)\n"
              "\n"
              "Ignoring threads (shell globs on demangled names; each repeatable):\n"
              "      --ignore-top=FUNC     FUNC is on top of the stack\n"
              "      --ignore-any=FUNC     FUNC is anywhere in the stack\n"
              "      --ignore-created-by=FUNC  FUNC is in the stack that created it\n"
              "      --ignore-name=NAME    the thread is called NAME\n"
              "      --ignore-module=GLOB  a frame is in that library\n"
              "      --suppressions=FILE   rules from FILE, one KIND:PATTERN a line\n"
              "                            (also LEAKSCAN_SUPPRESSIONS=FILE[:FILE...])\n"
              "      --no-default-ignores  judge runtime pool threads (OpenMP, GLib...) too\n"
              "      --list-default-ignores  print the built-in ignore list and exit\n"
              "      --show-ignored        list the ignored threads with their rule\n"
              "      --print-suppressions  a suppression line for each leak: inside a json,\n"
              "                            sarif, junit or dot document; with text on stdout,\n"
              "                            the report going to stderr ('>> leakscan.supp')\n"
              "      --print-suppressions=FILE  the same lines, appended to FILE\n"
              "\n"
              "Output:\n"
              "  -a, --all                 print every thread, not only the leaked ones\n",
              f);
        choices_join(CHOICES_FORMATS, true, list, sizeof list);
        print_option_help(f, "      --format=FORMAT", list);
        fputs(              "  -o, --output=FILE         write the report to FILE instead of stdout; %p in\n"
              "                            FILE is the PID judged, %n the first free number\n"
              "      --source-root=DIR     sarif: source paths relative to DIR (default: the\n"
              "                            current directory)\n"
              "      --color=WHEN          auto (default: on a terminal, unless NO_COLOR is\n"
              "                            set), always or never\n"
              "      --error-exitcode=N    exit status when leaks are found (default 1)\n"
              "\n"
              "Watching a fleet (--serve):\n"
              "      --serve=ADDR:PORT     run as a Prometheus exporter: snapshot the targets\n"
              "                            every --interval (default 60s) and serve /metrics,\n"
              "                            /report.json, /debug/pprof/threads and /healthz;\n"
              "                            ADDR defaults to 127.0.0.1 (:PORT); targets:\n"
              "                            -p PID (repeatable) and the processes that pass:\n"
              "      --all-processes       every process it may trace (not itself, not kernel\n"
              "                            threads)\n"
              "      --match=REGEX         command name or executable path matches (ERE)\n"
              "      --cgroup=PATH         in cgroup PATH or below (a container, a unit)\n"
              "      --cpu-budget=PERCENT  CPU of one core it may use (default 2%); the\n"
              "                            interval stretches to keep it\n"
              "      --web.config.file=FILE  TLS and basic auth, in the format of Prometheus's\n"
              "                            exporters (tls_server_config, basic_auth_users)\n"
              "      --visible-stops       also snapshot targets that can be read only by\n"
              "                            stopping a thread inside a call (skipped by default)\n"
              "      Skipped and counted: real-time threads, a process already traced, and\n"
              "      opt-outs: LEAKSCAN_OPTOUT=1 in its environment or the user.leakscan.optout\n"
              "      xattr on its executable.\n"
              "\n"
              "Unwinding:\n",
              f);
        choices_join(CHOICES_UNWINDERS, true, list, sizeof list);
        snprintf(desc, sizeof desc, "how stacks are unwound: %s", list);
        print_option_help(f, "      --unwinder=NAME", desc);
        fputs(              "      --stack-window=SIZE   stack bytes copied per thread (default 64K)\n"
              "      --max-frames=N        frames per stack at most (default 256)\n"
              "      --system-lines        also show source lines and inlined frames inside\n"
              "                            libc and other system libraries (loads their\n"
              "                            debug info: slower)\n"
              "      --stop-timeout=DURATION  wait this long for a thread to stop\n"
              "                            (default 2s)\n"
              "\n"
              "  -h, --help                show this help\n"
              "  -V, --version             show the version\n"
              "\n"
              "DURATION: 500ms, 1.5s, 2m (a bare number is seconds).  SIZE: 65536, 64K, 1M.\n"
              "LEAKSCAN_OPTIONS in the environment holds default options.\n"
              "Exit status: 0 no leaks, 1 leaks found, 2 usage error, 3 could not inspect.\n"
              "With --at-exit: PROGRAM's own failure status first (128+N if killed by\n"
              "signal N), 124 on --timeout, 126/127 if it cannot be run; the report goes to\n"
              "stderr (or -o FILE) and says nothing when no thread leaked.\n",
              f);
}

enum {
        OPT_FORMAT = 256,
        OPT_MIN_BLOCKED,
        OPT_ERROR_EXITCODE,
        OPT_UNWINDER,
        OPT_STACK_WINDOW,
        OPT_MAX_FRAMES,
        OPT_STOP_TIMEOUT,
        OPT_SYSTEM_LINES,
        OPT_AT_EXIT,
        OPT_GRACE,
        OPT_FOLLOW_FORKS,
        OPT_TIMEOUT,
        OPT_IGNORE_TOP,
        OPT_IGNORE_ANY,
        OPT_IGNORE_CREATED_BY,
        OPT_IGNORE_NAME,
        OPT_IGNORE_MODULE,
        OPT_SUPPRESSIONS,
        OPT_NO_DEFAULT_IGNORES,
        OPT_LIST_DEFAULT_IGNORES,
        OPT_SHOW_IGNORED,
        OPT_PRINT_SUPPRESSIONS,
        OPT_COLOR,
        OPT_SAVE_BASELINE,
        OPT_BASELINE,
        OPT_WATCH,
        OPT_INTERVAL,
        OPT_IDLE,
        OPT_SOURCE_ROOT,
        OPT_PER_TEST,
        OPT_SCAN_LIMIT,
        /* --serve (src/serve/serve.c) */
        OPT_SERVE,
        OPT_ALL_PROCESSES,
        OPT_MATCH,
        OPT_CGROUP,
        OPT_CPU_BUDGET,
        OPT_WEB_CONFIG,
        OPT_VISIBLE_STOPS,
        OPT_SAVE_SNAPSHOT,
        OPT_FROM_SNAPSHOT,
};

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

/* Returns 1 to run, 0 to exit successfully (help, version), or -EINVAL. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
        static const struct option options[] = {
                { "pid", required_argument, NULL, 'p' },
                { "all", no_argument, NULL, 'a' },
                { "format", required_argument, NULL, OPT_FORMAT },
                { "output", required_argument, NULL, 'o' },
                { "min-blocked", required_argument, NULL, OPT_MIN_BLOCKED },
                { "error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE },
                { "unwinder", required_argument, NULL, OPT_UNWINDER },
                { "stack-window", required_argument, NULL, OPT_STACK_WINDOW },
                { "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
                { "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
                { "system-lines", no_argument, NULL, OPT_SYSTEM_LINES },
                { "at-exit", no_argument, NULL, OPT_AT_EXIT },
                { "grace", required_argument, NULL, OPT_GRACE },
                { "follow-forks", no_argument, NULL, OPT_FOLLOW_FORKS },
                { "timeout", required_argument, NULL, OPT_TIMEOUT },
                { "ignore-top", required_argument, NULL, OPT_IGNORE_TOP },
                { "ignore-any", required_argument, NULL, OPT_IGNORE_ANY },
                { "ignore-created-by", required_argument, NULL, OPT_IGNORE_CREATED_BY },
                { "ignore-name", required_argument, NULL, OPT_IGNORE_NAME },
                { "ignore-module", required_argument, NULL, OPT_IGNORE_MODULE },
                { "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
                { "no-default-ignores", no_argument, NULL, OPT_NO_DEFAULT_IGNORES },
                { "list-default-ignores", no_argument, NULL, OPT_LIST_DEFAULT_IGNORES },
                { "show-ignored", no_argument, NULL, OPT_SHOW_IGNORED },
                { "print-suppressions", optional_argument, NULL, OPT_PRINT_SUPPRESSIONS },
                { "color", required_argument, NULL, OPT_COLOR },
                { "save-baseline", required_argument, NULL, OPT_SAVE_BASELINE },
                { "baseline", required_argument, NULL, OPT_BASELINE },
                { "watch", required_argument, NULL, OPT_WATCH },
                { "interval", required_argument, NULL, OPT_INTERVAL },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "idle", no_argument, NULL, OPT_IDLE },
                { "source-root", required_argument, NULL, OPT_SOURCE_ROOT },
                { "per-test", no_argument, NULL, OPT_PER_TEST },
                { "jobs", required_argument, NULL, 'j' },
                { "scan-limit", required_argument, NULL, OPT_SCAN_LIMIT },
                { "serve", required_argument, NULL, OPT_SERVE },
                { "all-processes", no_argument, NULL, OPT_ALL_PROCESSES },
                { "match", required_argument, NULL, OPT_MATCH },
                { "cgroup", required_argument, NULL, OPT_CGROUP },
                { "cpu-budget", required_argument, NULL, OPT_CPU_BUDGET },
                { "web.config.file", required_argument, NULL, OPT_WEB_CONFIG },
                { "visible-stops", no_argument, NULL, OPT_VISIBLE_STOPS },
                { "save-snapshot", required_argument, NULL, OPT_SAVE_SNAPSHOT },
                { "from-snapshot", required_argument, NULL, OPT_FROM_SNAPSHOT },
                {}
        };
        long v;
        int64_t ms;
        int c;

        while ((c = getopt_long(argc, argv, "+p:ao:hVj:", options, NULL)) >= 0) {
                /* a value quoted back in an error line: short and escaped */
                char shown[256];
                if (optarg)
                        escape_excerpt(optarg, 60, shown, sizeof shown);
                switch (c) {
                case 'p':
                        if (parse_int(optarg, 1, INT32_MAX, &v) < 0)
                                return usage_error("invalid PID '%s': expected a positive number", shown);
                        cli->pid = (pid_t) v;
                        if (serve_options_add_pid(&cli->serve, cli->pid) < 0)    /* --serve: each -p */
                                return -ENOMEM;
                        break;
                case 'a':
                        cli->report.all = true;
                        break;
                case OPT_FORMAT:
                        cli->backend = report_backend_find(optarg);
                        if (!cli->backend) {
                                char names[256];
                                choices_join(CHOICES_FORMATS, false, names, sizeof names);
                                return usage_error("unknown format '%s': use %s", shown, names);
                        }
                        break;
                case 'o':
                        if (outpath_check(optarg) < 0)
                                return usage_error("invalid -o '%s': after %% use p (PID), n (a number) or %%", shown);
                        cli->output = optarg;
                        break;
                case OPT_MIN_BLOCKED:
                        if (parse_duration_ms(optarg, &ms) < 0)
                                return usage_error("invalid duration '%s' for --min-blocked: use e.g. 500ms, 2s, 0", shown);
                        cli->min_blocked_ms = ms;
                        break;
                case OPT_ERROR_EXITCODE:
                        if (parse_int(optarg, 0, 255, &v) < 0)
                                return usage_error("invalid --error-exitcode '%s': expected 0 to 255", shown);
                        cli->error_exitcode = (int) v;
                        break;
                case OPT_UNWINDER:
                        if (unwinder_absent_reason(optarg)) {
                                fprintf(stderr, "leakscan: unwinder '%s' is not available: %s\n", optarg,
                                        unwinder_absent_reason(optarg));
                                return -EINVAL;
                        }
                        if (!unwinder_find(optarg)) {
                                char names[256];
                                choices_join(CHOICES_UNWINDERS, false, names, sizeof names);
                                return usage_error("unknown unwinder '%s': use one of %s", shown, names);
                        }
                        cli->supervise.inspect.unwinder = optarg;
                        break;
                case OPT_STACK_WINDOW:
                        if (parse_size(optarg, &cli->supervise.inspect.stack_window) < 0 ||
                            cli->supervise.inspect.stack_window < 256 || cli->supervise.inspect.stack_window > (64u << 20))
                                return usage_error("invalid --stack-window '%s': expected 256 bytes to 64M", shown);
                        break;
                case OPT_MAX_FRAMES:
                        if (parse_int(optarg, 1, 100000, &v) < 0)
                                return usage_error("invalid --max-frames '%s': expected 1 to 100000", shown);
                        cli->supervise.inspect.max_frames = (unsigned) v;
                        break;
                case OPT_STOP_TIMEOUT:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms < 1 || ms > 600000)
                                return usage_error("invalid --stop-timeout '%s': use e.g. 500ms or 5s", shown);
                        cli->supervise.inspect.stop_timeout_ms = (unsigned) ms;
                        break;
                case OPT_SYSTEM_LINES:
                        cli->supervise.inspect.system_lines = true;
                        break;
                case OPT_AT_EXIT:
                        cli->at_exit = true;
                        break;
                case OPT_GRACE:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms > 3600000)
                                return usage_error("invalid --grace '%s': use e.g. 500ms, 2s, 0", shown);
                        cli->supervise.grace_ms = ms;
                        break;
                case OPT_FOLLOW_FORKS:
                        cli->supervise.follow_forks = true;
                        break;
                case OPT_TIMEOUT:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms < 1)
                                return usage_error("invalid --timeout '%s': use e.g. 30s or 5m", shown);
                        cli->supervise.timeout_ms = ms;
                        break;
                case OPT_IGNORE_TOP:
                case OPT_IGNORE_ANY:
                case OPT_IGNORE_CREATED_BY:
                case OPT_IGNORE_NAME:
                case OPT_IGNORE_MODULE: {
                        static const enum rule_kind kinds[] = {
                                [OPT_IGNORE_TOP - OPT_IGNORE_TOP] = RULE_TOP,
                                [OPT_IGNORE_ANY - OPT_IGNORE_TOP] = RULE_ANY,
                                [OPT_IGNORE_CREATED_BY - OPT_IGNORE_TOP] = RULE_CREATED_BY,
                                [OPT_IGNORE_NAME - OPT_IGNORE_TOP] = RULE_NAME,
                                [OPT_IGNORE_MODULE - OPT_IGNORE_TOP] = RULE_MODULE,
                        };
                        enum rule_kind kind = kinds[c - OPT_IGNORE_TOP];
                        char origin[64];
                        snprintf(origin, sizeof origin, "--ignore-%s", rule_kind_to_string(kind));
                        if (!*optarg)
                                return usage_error("%s needs a pattern", origin);
                        if (rules_add(&cli->rules, kind, optarg, NULL, origin) < 0)
                                return -ENOMEM;
                        break;
                }
                case OPT_SUPPRESSIONS: {
                        _cleanup_free_ char *why = NULL;
                        if (rules_load_file(&cli->rules, optarg, &why) < 0)
                                return usage_error("%s", why ? why : "out of memory");
                        break;
                }
                case OPT_NO_DEFAULT_IGNORES:
                        cli->no_default_ignores = true;
                        break;
                case OPT_LIST_DEFAULT_IGNORES:
                        rules_print_defaults(stdout);
                        return 0;
                case OPT_SHOW_IGNORED:
                        cli->report.show_ignored = true;
                        break;
                case OPT_PRINT_SUPPRESSIONS:
                        cli->print_suppressions = true;
                        cli->suppressions_file = optarg && *optarg ? optarg : NULL;
                        break;
                case OPT_SOURCE_ROOT:
                        cli->report.source_root = optarg;
                        break;
                case OPT_SAVE_BASELINE:
                        cli->save_baseline = optarg;
                        break;
                case OPT_BASELINE: {
                        _cleanup_free_ char *why = NULL;
                        baseline_done(&cli->baseline);
                        if (baseline_read(optarg, &cli->baseline, &why) < 0)
                                return usage_error("%s", why ? why : "out of memory");
                        break;
                }
                case OPT_WATCH:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms < 1)
                                return usage_error("invalid --watch '%s': use e.g. 60s or 10m", shown);
                        cli->watch_ms = ms;
                        break;
                case OPT_INTERVAL:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms < 10)
                                return usage_error("invalid --interval '%s': use e.g. 1s or 200ms (10ms at least)", shown);
                        cli->interval_ms = ms;
                        break;
                case OPT_COLOR:
                        if (!streq(optarg, "auto") && !streq(optarg, "always") && !streq(optarg, "never"))
                                return usage_error("invalid --color '%s': use auto, always or never", shown);
                        cli->color = optarg;
                        break;
                case 'h':
                        print_help(stdout);
                        return 0;
                case OPT_IDLE:
                        cli->idle = true;
                        break;
                case OPT_PER_TEST:
                        cli->per_test = cli->at_exit = true;
                        break;
                case 'j':
                        if (parse_int(optarg, 1, 1024, &v) < 0)
                                return usage_error("invalid -j '%s': expected 1 to 1024 tests at once", shown);
                        cli->jobs = (unsigned) v;
                        break;
                case OPT_SCAN_LIMIT:
                        if (reach_parse_size(optarg, &cli->scan_limit) < 0)
                                return usage_error("invalid size '%s' for --scan-limit: use e.g. 256M, 1G, 0 (no limit)", shown);
                        break;
                case OPT_SAVE_SNAPSHOT:
                        cli->save_snapshot = optarg;
                        break;
                case OPT_FROM_SNAPSHOT:
                        cli->from_snapshot = optarg;
                        break;
                case 'V':
                        printf("leakscan %s\n", LEAKSCAN_VERSION);
                        return 0;
                case OPT_SERVE:
                        if (!*optarg)
                                return usage_error("%s", "--serve needs ADDR:PORT, e.g. 127.0.0.1:9464");
                        cli->serve.listen = optarg;
                        break;
                case OPT_ALL_PROCESSES:
                        cli->serve.all_processes = true;
                        break;
                case OPT_MATCH: {
                        if (cli->serve.has_match)
                                regfree(&cli->serve.match);
                        cli->serve.has_match = false;
                        int rc = regcomp(&cli->serve.match, optarg, REG_EXTENDED | REG_NOSUB);
                        if (rc != 0) {
                                char err[128];
                                regerror(rc, &cli->serve.match, err, sizeof err);
                                return usage_error("invalid --match '%s': %s", shown, err);
                        }
                        cli->serve.has_match = true;
                        break;
                }
                case OPT_CGROUP:
                        cli->serve.cgroup = optarg;
                        break;
                case OPT_CPU_BUDGET: {
                        char *end;
                        double d = strtod(optarg, &end);
                        if (end != optarg && streq(end, "%"))
                                d /= 100;
                        else if (end == optarg || *end)
                                d = -1;
                        if (!(d > 0 && d <= 1))
                                return usage_error("invalid --cpu-budget '%s': use e.g. 2%% (of one CPU), up to 100%%", shown);
                        cli->serve.cpu_budget = d;
                        break;
                }
                case OPT_WEB_CONFIG:
                        cli->serve.web_config = optarg;
                        break;
                case OPT_VISIBLE_STOPS:
                        cli->serve.visible_stops = true;
                        break;
                default:
                        fputs("leakscan: see leakscan --help for the options\n", stderr);
                        return -EINVAL;
                }
        }
        if (options_source)
                return 1;       /* the rest once the command line is parsed too */
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
                if (cli->per_test && !pertest_format_supported(cli->backend))
                        return usage_error("--per-test reports in text, json or junit, not %s", cli->backend->name);
                if (cli->print_suppressions && cli->per_test)
                        return usage_error("%s", "--print-suppressions does not go with --per-test");
                cli->program = argv + optind;
                return 1;
        }
        if (cli->jobs)
                return usage_error("%s", "-j goes with --per-test");
        if (cli->supervise.follow_forks || cli->supervise.timeout_ms)
                return usage_error("%s", "--follow-forks and --timeout go with --at-exit");
        if (cli->watch_ms && cli->backend != &report_text && cli->backend != &report_json)
                return usage_error("--watch reports in text or json, not %s", cli->backend->name);
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

/* -o FILE of a format written whole (atomic_output): the temporary file,
 * renamed onto FILE by close_output.  With %n, FILE is the first name
 * not taken yet. */
static struct atomic_file atomic_output;

static int open_atomic_output(const char *template, pid_t pid, FILE **ret)
{
        for (unsigned n = 0;; n++) {
                _cleanup_free_ char *path = NULL;
                int r = outpath_expand(template, pid, n, &path);
                if (r < 0)
                        return r;
                _cleanup_free_ char *again = NULL;
                if (outpath_expand(template, pid, n + 1, &again) == 0 && !streq(again, path) &&
                    access(path, F_OK) == 0)
                        continue;       /* %n: taken */
                r = atomic_file_open(path, &atomic_output);
                if (r == 0)
                        *ret = atomic_output.f;
                return r;
        }
}

/* The stream the report goes to: -o FILE (its %p the PID judged), or
 * default_out.  NULL, with the error printed, when FILE cannot be opened. */
static FILE *open_output(const struct cli *cli, pid_t pid, FILE *default_out)
{
        if (!cli->output)
                return default_out;
        FILE *out = NULL;
        _cleanup_free_ char *path = NULL;
        int r = cli->backend->atomic_output ? open_atomic_output(cli->output, pid, &out) :
                outpath_open(cli->output, pid, &out, &path);
        if (r < 0)
                fprintf(stderr, "leakscan: cannot write the report to %s: %s; choose a writable path for -o\n",
                        cli->output, strerror(-r));
        return out;
}

/* Flushes and closes what open_output gave; r is the writer's result.
 * Returns 0 or the exit status of a failure, with its message printed. */
static int close_output(FILE *out, FILE *default_out, int r)
{
        if (out == atomic_output.f) {
                int c = atomic_file_close(&atomic_output, r < 0);
                r = r < 0 ? r : c;
        } else {
                if (fflush(out) != 0 && r == 0)
                        r = -errno;
                if (out != default_out)
                        fclose(out);
        }
        if (r < 0) {
                fprintf(stderr, "leakscan: writing the report failed: %s\n", strerror(-r));
                return EXIT_CANNOT_INSPECT;
        }
        return 0;
}

/* -p split (run_pid_split): the files the analyser writes, opened by the
 * capturer before the fork, so that the analyser never opens a path. */
static FILE *split_suppressions, *split_baseline;

/* --print-suppressions: to FILE when given (appended to, so that runs add
 * up), else inside a document format, else (text) to stdout while the
 * report goes to stderr, unless stdout is the program's (--at-exit), where
 * they follow the report (write_report).  Returns 0 or an exit status, with
 * the error printed. */
static int write_suppressions(const struct cli *cli, const struct leakscan_report *report)
{
        if (!cli->print_suppressions ||
            (!cli->suppressions_file && (cli->backend != &report_text || cli->at_exit)))
                return 0;
        if (!cli->suppressions_file)
                return close_output(stdout, stdout, report_write_suppressions(stdout, report));
        FILE *f = split_suppressions ? split_suppressions : fopen(cli->suppressions_file, "ae");
        if (!f) {
                fprintf(stderr, "leakscan: cannot write the suppressions to %s: %s; choose a writable path\n",
                        cli->suppressions_file, strerror(errno));
                return EXIT_CANNOT_INSPECT;
        }
        return close_output(f, NULL, report_write_suppressions(f, report));
}

/* Whether the -o template names the PID: then each judged process gets a
 * file of its own. */
static bool output_names_pid(const char *template)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        return outpath_expand(template, 1, 0, &a) == 0 && outpath_expand(template, 2, 0, &b) == 0 && !streq(a, b);
}

/* Writes report (or one process of it) to open_output(pid).  Returns 0, or
 * an exit status for a failure, with its message printed. */
static int write_document(const struct cli *cli, const struct leakscan_report *report, pid_t pid,
                          FILE *default_out)
{
        FILE *out = open_output(cli, pid, default_out);
        if (!out)
                return EXIT_CANNOT_INSPECT;
        struct report_options ropts = cli->report;
        ropts.color = streq(cli->color, "always") ||
                      (streq(cli->color, "auto") && isatty(fileno(out)) && !getenv("NO_COLOR"));
        ropts.suppressions = cli->print_suppressions;
        int r = cli->backend->write(out, report, &ropts);
        if (r == 0 && cli->print_suppressions && !cli->suppressions_file && cli->backend == &report_text &&
            cli->at_exit)
                r = report_write_suppressions(out, report);
        return close_output(out, default_out, r);
}

/* Writes the report where the options say (FILE, or default_out), counts
 * its leaked threads into *ret_leaked and frees it.  With --follow-forks and
 * a FILE naming the PID (%p), one document per judged process, in the file
 * its PID names.  Returns 0, or an exit status for a failure, with its
 * message printed. */
static int write_report(const struct cli *cli, struct leakscan_report *report, FILE *default_out,
                        size_t *ret_leaked)
{
        *ret_leaked = report_count_leaked(report);
        /* text with its suppression lines on stdout: the report on stderr */
        if (cli->print_suppressions && !cli->suppressions_file && cli->backend == &report_text && !cli->at_exit)
                default_out = stderr;
        int status = 0;
        if (cli->output && report->n_processes > 1 && output_names_pid(cli->output)) {
                for (size_t i = 0; i < report->n_processes && status == 0; i++) {
                        struct leakscan_report one = *report;
                        one.processes = &report->processes[i];
                        one.n_processes = 1;
                        status = write_document(cli, &one, report->processes[i].pid, default_out);
                }
        } else {
                status = write_document(cli, report, report->n_processes ? report->processes[0].pid : getpid(),
                                        default_out);
        }
        if (status == 0)
                status = write_suppressions(cli, report);
        leakscan_report_free(report);
        return status;
}

/* --save-snapshot (-p, keeping what was read in the file) and
 * --from-snapshot (the report of such a file).  Returns 0 with a new
 * report in *ret, an exit status with the error printed, or the negative
 * errno of inspecting the process, for the caller to describe. */
static int snapshot_or_complain(const struct cli *cli, struct leakscan_report **ret)
{
        struct snapshot *snap = NULL;
        const char *why = NULL;
        int r;
        if (cli->from_snapshot) {
                /* the analyser (sandbox.h): the file read as we are, parsed
                 * and analysed with no privilege, the module files opened
                 * before the filter that forbids every open */
                uint8_t *buf = NULL;
                size_t len = 0;
                struct sandbox_limits limits = SANDBOX_DEFAULT_LIMITS;
                r = snapshot_read_bytes(cli->from_snapshot, &buf, &len, &why);
                if (r == 0 && cli->sandboxed && (r = sandbox_drop(&limits, &why)) < 0)
                        free(buf);
                if (r == 0)
                        r = snapshot_parse(buf, len, &snap, &why);
                if (r == 0 && cli->sandboxed) {
                        snapshot_open_modules(snap);
                        sandbox_note_pid(snap->cap->pid);
                        r = sandbox_confine(&why);
                        if (r == 0 && cli->hold_analyser)
                                while (read(STDIN_FILENO, &(char) {0}, 1) > 0)
                                        ;       /* the test looks at us meanwhile */
                }
                if (r < 0) {
                        fprintf(stderr, "leakscan: cannot read the snapshot %s: %s; give a file that "
                                "--save-snapshot wrote\n", cli->from_snapshot, why ? why : strerror(-r));
                        snapshot_free(snap);
                        return EXIT_CANNOT_INSPECT;
                }
                r = snapshot_analyse(snap, &cli->supervise.inspect, ret);
        } else {
                r = snapshot_inspect_pid(cli->pid, &cli->supervise.inspect, cli->scan_limit, ret, &snap);
                if (r == 0) {
                        FILE *f = NULL;
                        int w = snapshot_create_file(cli->save_snapshot, &f);
                        if (w == 0) {
                                w = snapshot_write(snap, f);
                                if (fclose(f) != 0 && w == 0)
                                        w = -errno;
                        }
                        if (w < 0) {
                                fprintf(stderr, "leakscan: cannot write the snapshot %s: %s; choose a path of "
                                        "your own (a symlink, or a file someone else owns, is not replaced)\n",
                                        cli->save_snapshot, strerror(-w));
                                leakscan_report_free(*ret);
                                snapshot_free(snap);
                                return EXIT_CANNOT_INSPECT;
                        }
                }
        }
        snapshot_free(snap);
        if (r == -ENOTSUP) {
                fprintf(stderr, "leakscan: the %s unwinder reads the live process: a snapshot needs an offline "
                        "one (libdw, fp, libunwind)\n", cli->supervise.inspect.unwinder);
                return EXIT_CANNOT_INSPECT;
        }
        if (r < 0 && cli->from_snapshot) {
                fprintf(stderr, "leakscan: cannot analyse the snapshot %s: %s\n", cli->from_snapshot, strerror(-r));
                return EXIT_CANNOT_INSPECT;
        }
        return r;
}

/* Inspects and judges the -p process into a new report in *ret.  Returns 0,
 * or an exit status with the error printed. */
static bool pid_split(const struct cli *cli);

static int inspect_or_complain(const struct cli *cli, const struct creator_lookup *creators,
                               struct leakscan_report **ret)
{
        struct leakscan_report *report = NULL;
        char why[768];
        /* --watch: each snapshot analysed in the sandbox as -p's (capturer.h) */
        bool split = cli->watch_ms && pid_split(cli);
        int r = cli->save_snapshot || cli->from_snapshot ? snapshot_or_complain(cli, &report) :
                split ? capturer_inspect_pid(cli->pid, &cli->supervise.inspect, creators, cli->scan_limit, &report,
                                             why, sizeof why) :
                inspect_pid_limited(cli->pid, &cli->supervise.inspect, creators, cli->scan_limit, &report);
        if (r > 0)
                return r;
        if (split && r == -ECANCELED) {
                fprintf(stderr, "leakscan: %s; no report (process %d was released before the analysis)\n", why,
                        (int) cli->pid);
                return EXIT_CANNOT_INSPECT;
        }
        if (r < 0) {
                char msg[512];
                fprintf(stderr, "leakscan: %s\n", leakscan_describe_error(r, cli->pid, msg, sizeof msg));
                return EXIT_CANNOT_INSPECT;
        }
        if (judge_report(report, &cli->judge) < 0) {
                fputs("leakscan: out of memory\n", stderr);
                leakscan_report_free(report);
                return EXIT_CANNOT_INSPECT;
        }
        *ret = report;
        return 0;
}

static const struct thread_capture *watch_find_creator(void *userdata, pid_t pid, const struct thread_capture *t)
{
        (void) pid;
        return track_creator(userdata, t->tid);
}

/* --watch: snapshots every --interval for --watch, following thread
 * creation in between so that new threads come with the stack that created
 * them; exit 1 (or --error-exitcode) when a group of identical stacks grew. */
static int run_watch(const struct cli *cli)
{
        struct watch w = {0};
        int64_t interval = cli->interval_ms ? cli->interval_ms : 1000;
        uint64_t end = now_usec(CLOCK_MONOTONIC) + (uint64_t) cli->watch_ms * 1000u;
        struct track *tr = track_new(cli->pid, cli->supervise.creator_window);
        struct creator_lookup creators = { watch_find_creator, tr, NULL };
        int status = tr ? 0 : EXIT_CANNOT_INSPECT;
        while (status == 0) {
                struct leakscan_report *snap = NULL;
                track_stop(tr);         /* the snapshot seizes the process as -p does */
                status = inspect_or_complain(cli, &creators, &snap);
                if (status)
                        break;
                if (watch_add(&w, snap) < 0) {
                        leakscan_report_free(snap);
                        fputs("leakscan: out of memory\n", stderr);
                        status = EXIT_CANNOT_INSPECT;
                        break;
                }
                if (w.n_snapshots >= 2 && now_usec(CLOCK_MONOTONIC) >= end)
                        break;
                uint64_t next = now_usec(CLOCK_MONOTONIC) + (uint64_t) interval * 1000u;
                if (track_start(tr) == 0)
                        track_run(tr, next);
                else {
                        struct timespec ts = { interval / 1000, (long) (interval % 1000) * 1000000 };
                        nanosleep(&ts, NULL);
                }
        }
        track_free(tr);
        if (status == 0) {
                FILE *out = open_output(cli, cli->pid, stdout);
                if (!out)
                        status = EXIT_CANNOT_INSPECT;
                else
                        status = close_output(out, stdout, cli->backend == &report_json ?
                                              watch_write_json(out, &w, interval) :
                                              watch_write_text(out, &w, interval));
                bool grew = false;
                for (size_t g = 0; g < w.n_groups; g++)
                        grew |= watch_growth(&w, &w.groups[g]) > 0;
                if (status == 0 && grew)
                        status = cli->error_exitcode;
        }
        watch_done(&w);
        return status;
}

static int run_pid(const struct cli *cli);

/* --from-snapshot: the analysis in a sandboxed child (sandbox.h), its
 * report copied to the output here.  Returns an exit status. */
static int run_from_snapshot(const struct cli *cli)
{
        struct sandbox_limits limits = SANDBOX_DEFAULT_LIMITS;
        struct sandbox_child child;
        int r = sandbox_fork(&child);
        if (r < 0) {
                fprintf(stderr, "leakscan: cannot start the analyser: %s\n", strerror(-r));
                return EXIT_CANNOT_INSPECT;
        }
        if (r == 1) {
                struct cli c = *cli;
                c.sandboxed = true;
                c.output = NULL;                /* its stdout: our pipe */
                if (streq(c.color, "auto"))     /* whether we write to a terminal */
                        c.color = !cli->output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") ? "always" : "never";
                fflush(NULL);
                _exit(run_pid(&c));
        }
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        char why[768];
        int status = sandbox_wait(&child, &limits, &out, &len, why, sizeof why);
        if (status < 0) {
                fprintf(stderr, "leakscan: %s; no report (the snapshot or a module file it names may be "
                        "hostile: try it in a throwaway container)\n", why);
                return EXIT_CANNOT_INSPECT;
        }
        if (len == 0)
                return status;          /* it said why on stderr */
        FILE *f = open_output(cli, child.shared->pid, stdout);
        if (!f)
                return EXIT_CANNOT_INSPECT;
        int w = fwrite(out, 1, len, f) == len ? 0 : -EIO;
        return close_output(f, stdout, w) ? EXIT_CANNOT_INSPECT : status;
}

/* -p in the analyser (capturer.h): the report judged and written to its
 * stdout, the capturer's pipe.  Returns the exit status. */
static int report_in_analyser(void *userdata, struct leakscan_report *report)
{
        const struct cli *cli = userdata;
        if (judge_report(report, &cli->judge) < 0) {
                fputs("leakscan: out of memory\n", stderr);
                return EXIT_CANNOT_INSPECT;
        }
        if (split_baseline) {   /* opened by the capturer (run_pid_split) */
                int r = baseline_write(split_baseline, &report->processes[0]);
                if (fclose(split_baseline) != 0 && r == 0)
                        r = -errno;
                split_baseline = NULL;
                if (r < 0) {
                        fprintf(stderr, "leakscan: cannot write the baseline %s: %s; choose a writable path\n",
                                cli->save_baseline, strerror(-r));
                        return EXIT_CANNOT_INSPECT;
                }
        }
        size_t leaked;
        int status = write_report(cli, report, stdout, &leaked);
        if (status)
                return status;
        return leaked ? cli->error_exitcode : EXIT_OK;
}

/* -p split in two (capturer.h): this process seizes, captures and
 * releases; an unprivileged, confined child analyses and writes the report,
 * copied to the output here.  Returns an exit status. */
static int run_pid_split(const struct cli *cli)
{
        struct cli c = *cli;
        c.sandboxed = true;
        c.output = NULL;                /* its stdout: our pipe */
        if (streq(c.color, "auto"))     /* whether we write to a terminal */
                c.color = !cli->output && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") ? "always" : "never";
        FILE *save = NULL;
        if (cli->save_snapshot) {
                int w = snapshot_create_file(cli->save_snapshot, &save);
                if (w < 0) {
                        fprintf(stderr, "leakscan: cannot write the snapshot %s: %s; choose a path of "
                                "your own (a symlink, or a file someone else owns, is not replaced)\n",
                                cli->save_snapshot, strerror(-w));
                        return EXIT_CANNOT_INSPECT;
                }
        }
        /* the files the analyser writes: opened here, written there */
        if (cli->save_baseline && !(split_baseline = fopen(cli->save_baseline, "we"))) {
                fprintf(stderr, "leakscan: cannot write the baseline %s: %s; choose a writable path\n",
                        cli->save_baseline, strerror(errno));
                if (save)
                        fclose(save);
                return EXIT_CANNOT_INSPECT;
        }
        if (cli->print_suppressions && cli->suppressions_file &&
            !(split_suppressions = fopen(cli->suppressions_file, "ae"))) {
                fprintf(stderr, "leakscan: cannot write the suppressions to %s: %s; choose a writable path\n",
                        cli->suppressions_file, strerror(errno));
                if (save)
                        fclose(save);
                if (split_baseline)
                        fclose(split_baseline);
                return EXIT_CANNOT_INSPECT;
        }
        int keep[] = { split_baseline ? fileno(split_baseline) : -1,
                       split_suppressions ? fileno(split_suppressions) : -1 };
        struct capturer_outcome res;
        int r = capturer_run_pid(cli->pid, &cli->supervise.inspect, cli->scan_limit, cli->hold_analyser, save,
                                 keep, ARRAY_SIZE(keep), report_in_analyser, &c, &res);
        /* written and closed by the analyser; nothing was written here */
        if (split_baseline)
                fclose(split_baseline);
        if (split_suppressions)
                fclose(split_suppressions);
        split_baseline = split_suppressions = NULL;
        if (save) {
                fclose(save);           /* the analyser wrote it; nothing was written here */
                if (r < 0)
                        (void) unlink(cli->save_snapshot);
        }
        if (r == -ECANCELED) {
                fprintf(stderr, "leakscan: %s; no report (process %d was released before the analysis; its "
                        "files may be hostile: LEAKSCAN_ANALYSE_IN_PROCESS=1 analyses without the sandbox, for "
                        "debugging only)\n", res.why, (int) cli->pid);
                return EXIT_CANNOT_INSPECT;
        }
        if (r < 0) {
                char msg[512];
                fprintf(stderr, "leakscan: %s\n", leakscan_describe_error(r, cli->pid, msg, sizeof msg));
                return EXIT_CANNOT_INSPECT;
        }
        _cleanup_free_ char *out = res.out;
        if (getenv("LEAKSCAN_BENCH_RUSAGE")) {
                /* bench/snapshot.py: the peaks of the two processes */
                struct rusage self, analyser;
                getrusage(RUSAGE_SELF, &self);
                getrusage(RUSAGE_CHILDREN, &analyser);
                fprintf(stderr, "leakscan-rusage capturer_maxrss %ld analyser_maxrss %ld\n", self.ru_maxrss,
                        analyser.ru_maxrss);
        }
        if (res.len == 0)
                return res.status;      /* it said why on stderr, or found nothing to say */
        FILE *f = open_output(cli, cli->pid, stdout);
        if (!f)
                return EXIT_CANNOT_INSPECT;
        int w = fwrite(out, 1, res.len, f) == res.len ? 0 : -EIO;
        return close_output(f, stdout, w) ? EXIT_CANNOT_INSPECT : res.status;
}

/* Whether -p runs split (capturer.h): always, but where the analyser would
 * have to write a file of its own (--save-baseline, --suppressions-file),
 * with an unwinder that reads the live process (ptrace), and under
 * LEAKSCAN_ANALYSE_IN_PROCESS (for debugging leakscan). */
static bool pid_split(const struct cli *cli)
{
        const struct unwinder *u = unwinder_find(cli->supervise.inspect.unwinder);
        return !cli->sandboxed && !cli->from_snapshot && u && !u->while_stopped &&
               !getenv("LEAKSCAN_ANALYSE_IN_PROCESS");
}

static int run_pid(const struct cli *cli)
{
        if (cli->watch_ms)
                return run_watch(cli);
        if (pid_split(cli))
                return run_pid_split(cli);
        struct leakscan_report *report = NULL;
        int status = inspect_or_complain(cli, NULL, &report);
        if (status)
                return status;
        if (cli->save_baseline) {
                FILE *f = fopen(cli->save_baseline, "we");
                int r = f ? baseline_write(f, &report->processes[0]) : -errno;
                if (f && fclose(f) != 0 && r == 0)
                        r = -errno;
                if (r < 0) {
                        fprintf(stderr, "leakscan: cannot write the baseline %s: %s; choose a writable path\n",
                                cli->save_baseline, strerror(-r));
                        leakscan_report_free(report);
                        return EXIT_CANNOT_INSPECT;
                }
        }
        size_t leaked;
        status = write_report(cli, report, stdout, &leaked);
        if (status)
                return status;
        return leaked ? cli->error_exitcode : EXIT_OK;
}

/* Exit status, in this order: PROGRAM could not start (127 not found, 126
 * not executable, 3 when leakscan could not set up its supervision), PROGRAM
 * failed (its status, or 128+N for signal N), the --timeout struck (124),
 * leaks (--error-exitcode), the report could not be written (3), else 0.
 * meson's 77 and 99 pass through as any other failure status does.  Once the
 * program ran, nothing leakscan fails at replaces its status: what could not
 * be checked is in the report. */
static int run_at_exit(const struct cli *cli)
{
        struct leakscan_report *report = NULL;
        struct supervise_result res;
        enum supervise_step failed;
        const char *prog = cli->program[0];
        int r = supervise_run(cli->program, &cli->supervise, &report, &res, &failed);
        if (r < 0 && failed == SUPERVISE_STEP_EXEC) {
                fprintf(stderr, "leakscan: cannot run %s: %s\n", prog, strerror(-r));
                return r == -ENOENT || r == -ENOTDIR ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
        }
        if (r < 0 && failed == SUPERVISE_STEP_FILTER) {
                fprintf(stderr, "leakscan: cannot watch %s: installing the seccomp filter failed: %s%s\n", prog,
                        strerror(-r),
                        r == -ENOSYS || r == -EINVAL ? " (--at-exit needs seccomp user notification, Linux 5.5 or later)" :
                        r == -EACCES || r == -EPERM ? " (seccomp is not allowed here: in a container, allow the "
                                                      "seccomp syscall)" : "");
                return EXIT_CANNOT_INSPECT;
        }
        if (r < 0) {
                fprintf(stderr, "leakscan: cannot start %s under supervision: %s\n", prog, strerror(-r));
                return EXIT_CANNOT_INSPECT;
        }
        /* From here the program's status comes first.  A report that cannot
         * be written (a closed stderr) must not replace it with a death by
         * SIGPIPE: ignored now, after the program was started with the
         * disposition we were given. */
        signal(SIGPIPE, SIG_IGN);
        if (res.strict_seccomp) {
                leakscan_report_free(report);
                fprintf(stderr, "leakscan: %s enters SECCOMP_MODE_STRICT, which a program cannot do under "
                        "--at-exit's seccomp filter: it was stopped; run it without --at-exit\n", prog);
                return EXIT_CANNOT_INSPECT;
        }
        size_t leaked = 0;
        int report_status = write_report(cli, report, stderr, &leaked);
        if (res.timed_out)
                return EXIT_TIMEOUT;
        if (res.exit_signal)
                return EXIT_SIGNALED_BASE + res.exit_signal;
        if (res.exited && res.exit_code != 0)
                return res.exit_code;
        if (leaked)
                return cli->error_exitcode;
        if (supervise_analysers_failed()) {
                if (cli->output)        /* else the report just said it */
                        fprintf(stderr, "leakscan: the analysis of %u exiting process%s failed: see the report\n",
                                supervise_analysers_failed(), supervise_analysers_failed() > 1 ? "es" : "");
                return report_status ? report_status : EXIT_CANNOT_INSPECT;
        }
        return report_status ? report_status : EXIT_OK;
}

/* Whether -o FILE can be written, checked before PROGRAM runs, so that a
 * long test is not run for a report that cannot be kept.  Prints the error.
 * A path with %-escapes is known only at the end: its folder is checked. */
static bool output_writable(const char *path)
{
        int r = 0;
        if (strchr(path, '%')) {
                _cleanup_free_ char *dir = strdup(path);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (!dir)
                        r = -ENOMEM;
                else if (access(slash ? (slash == dir ? "/" : (*slash = 0, dir)) : ".", W_OK) < 0)
                        r = -errno;
        } else {
                int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
                if (fd < 0)
                        r = -errno;
                else
                        close(fd);
        }
        if (r < 0)
                fprintf(stderr, "leakscan: cannot write the report to %s: %s; choose a writable path for -o\n",
                        path, strerror(-r));
        return r == 0;
}

int main(int argc, char **argv)
{
        /* Installed setuid, setgid or with file capabilities, leakscan would
         * let anyone read any process's memory and run programs with its
         * rights.  It needs a debugger's rights, given the way a debugger's
         * are: run it as root or with CAP_SYS_PTRACE. */
        if (getauxval(AT_SECURE)) {
                fputs("leakscan: refusing to run setuid, setgid or with file capabilities: that would let any "
                      "user read other processes' memory; remove them (chmod u-s,g-s; setcap -r) and run "
                      "leakscan as root or with CAP_SYS_PTRACE\n", stderr);
                return EXIT_CANNOT_INSPECT;
        }
        struct cli cli = { .backend = &report_text, .min_blocked_ms = 1000, .error_exitcode = EXIT_LEAKS, .color = "auto",
                           .scan_limit = REACH_DEFAULT_SCAN_LIMIT };
        supervise_options_init(&cli.supervise);

        /* LEAKSCAN_OPTIONS: default options, as the sanitizers' *_OPTIONS,
         * parsed before the command line so that the command line's win.
         * Split as the shell would (quotes and backslashes) but with no
         * expansion, and parsed on their own: an option missing its value
         * there cannot take the first word of the command line, and its
         * errors say where they come from. */
        _cleanup_strv_free_ char **env_words = NULL;
        _cleanup_free_ char **env_argv = NULL;
        const char *env = getenv("LEAKSCAN_OPTIONS");
        if (env && *env) {
                size_t n_words;
                const char *why = "out of memory";
                int r = parse_shell_words(env, &env_words, &n_words, &why);
                if (r >= 0 && !(env_argv = calloc(n_words + 2, sizeof *env_argv)))
                        r = -ENOMEM;
                if (r < 0) {
                        fprintf(stderr, "leakscan: cannot split LEAKSCAN_OPTIONS: %s\n", why);
                        return r == -ENOMEM ? EXIT_CANNOT_INSPECT : EXIT_USAGE;
                }
                env_argv[0] = "leakscan (LEAKSCAN_OPTIONS)";     /* getopt's messages start with it */
                memcpy(env_argv + 1, env_words, n_words * sizeof *env_argv);
                options_source = "LEAKSCAN_OPTIONS";
                r = parse_args((int) n_words + 1, env_argv, &cli);
                if (r > 0 && optind <= (int) n_words)
                        r = usage_error("unexpected argument '%s': only options go there", env_argv[optind]);
                options_source = NULL;
                optind = 0;             /* getopt starts afresh on the command line */
                if (r <= 0) {
                        rule_set_done(&cli.rules);
                        baseline_done(&cli.baseline);
                        serve_options_done(&cli.serve);
                        return r == 0 ? EXIT_OK : EXIT_USAGE;
                }
        }
        int r = parse_args(argc, argv, &cli);
        if (r <= 0) {
                rule_set_done(&cli.rules);
                baseline_done(&cli.baseline);
                serve_options_done(&cli.serve);
                return r == 0 ? EXIT_OK : EXIT_USAGE;
        }

        if (cli.at_exit && cli.output && !output_writable(cli.output)) {
                rule_set_done(&cli.rules);
                baseline_done(&cli.baseline);
                serve_options_done(&cli.serve);
                return EXIT_CANNOT_INSPECT;
        }

        /* The program --at-exit runs gets our environment as it was... */
        size_t n_env = 0;
        while (environ[n_env])
                n_env++;
        _cleanup_free_ char **program_env = calloc(n_env + 1, sizeof *program_env);
        if (!program_env) {
                fputs("leakscan: out of memory\n", stderr);
                return EXIT_CANNOT_INSPECT;
        }
        memcpy(program_env, environ, n_env * sizeof *program_env);
        cli.supervise.envp = program_env;
        /* ...while separate debug info is looked up on this machine only:
         * libdw would otherwise ask a debuginfod server named there. */
        unsetenv("DEBUGINFOD_URLS");
        cli.hold_analyser = getenv("LEAKSCAN_TEST_HOLD_ANALYSER") != NULL;
        capturer_policy = (struct capturer_policy) {
                .in_process = getenv("LEAKSCAN_ANALYSE_IN_PROCESS") != NULL, .hold = cli.hold_analyser };
        if (cli.serve.listen)
                r = serve_run(&cli.serve);
        else if (cli.per_test)
                r = pertest_run(cli.program, &(struct pertest_options) {
                        .supervise = &cli.supervise, .backend = cli.backend, .report = cli.report,
                        .output = cli.output, .error_exitcode = cli.error_exitcode, .jobs = cli.jobs });
        else
                r = cli.at_exit ? run_at_exit(&cli) : cli.from_snapshot ? run_from_snapshot(&cli) : run_pid(&cli);
        rule_set_done(&cli.rules);
        baseline_done(&cli.baseline);
        serve_options_done(&cli.serve);
        return r;
}
