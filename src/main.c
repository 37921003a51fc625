/* leakscan command line: parses options and wires the steps (inspect, then
 * a report backend).  It is, with the report backends, the only code that
 * prints; every failure is one line naming the cause and the remedy. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leakscan/leakscan.h"
#include "parse.h"
#include "report.h"
#include "util.h"

#define EXIT_USAGE 2
#define EXIT_CANNOT_INSPECT 3

#ifndef LEAKSCAN_VERSION
#define LEAKSCAN_VERSION "0"
#endif

static void print_help(FILE *f)
{
        fputs("Usage: leakscan [OPTIONS] -p PID\n"
              "\n"
              "Snapshot every thread of a running process, let it go, and report the\n"
              "threads that look leaked: blocked in an indefinite wait, with the\n"
              "symbolized stack and what they wait on.\n"
              "\n"
              "  -p, --pid=PID             the process to inspect\n"
              "  -a, --all                 print every thread, not only the leaked ones\n"
              "      --format=FORMAT       text (default) or json\n"
              "  -o, --output=FILE         write the report to FILE instead of stdout\n"
              "      --min-blocked=DURATION  report blocked threads idle at least this\n"
              "                            long (default 1s; 0 reports every blocked thread)\n"
              "      --error-exitcode=N    exit status when leaks are found (default 1)\n"
              "      --unwinder=NAME       libdw (default) or fp (frame pointers only)\n"
              "      --stack-window=SIZE   stack bytes copied per thread (default 64K)\n"
              "      --max-frames=N        frames per stack at most (default 256)\n"
              "      --system-lines        also show source lines and inlined frames inside\n"
              "                            libc and other system libraries (loads their\n"
              "                            debug info: slower)\n"
              "      --stop-timeout=DURATION  wait this long for a thread to stop\n"
              "                            (default 2s)\n"
              "  -h, --help                show this help\n"
              "      --version             show the version\n"
              "\n"
              "DURATION: 500ms, 1.5s, 2m (a bare number is seconds).  SIZE: 65536, 64K, 1M.\n"
              "Exit status: 0 no leaks, 1 leaks found, 2 usage error, 3 could not inspect.\n",
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
        OPT_VERSION,
};

struct cli {
        pid_t pid;
        const char *output;
        const struct report_backend *backend;
        struct report_options report;
        struct leakscan_options inspect;
        int error_exitcode;
};

static int usage_error(const char *fmt, const char *arg)
{
        fputs("leakscan: ", stderr);
        fprintf(stderr, fmt, arg);
        fputs(" (see leakscan --help)\n", stderr);
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
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        long v;
        int64_t ms;
        int c;

        while ((c = getopt_long(argc, argv, "+p:ao:h", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        if (parse_int(optarg, 1, INT32_MAX, &v) < 0)
                                return usage_error("invalid PID '%s': expected a positive number", optarg);
                        cli->pid = (pid_t) v;
                        break;
                case 'a':
                        cli->report.all = true;
                        break;
                case OPT_FORMAT:
                        cli->backend = report_backend_find(optarg);
                        if (!cli->backend)
                                return usage_error("unknown format '%s': use text or json", optarg);
                        break;
                case 'o':
                        cli->output = optarg;
                        break;
                case OPT_MIN_BLOCKED:
                        if (parse_duration_ms(optarg, &ms) < 0)
                                return usage_error("invalid duration '%s' for --min-blocked: use e.g. 500ms, 2s, 0", optarg);
                        cli->inspect.min_blocked_ms = ms;
                        break;
                case OPT_ERROR_EXITCODE:
                        if (parse_int(optarg, 0, 255, &v) < 0)
                                return usage_error("invalid --error-exitcode '%s': expected 0 to 255", optarg);
                        cli->error_exitcode = (int) v;
                        break;
                case OPT_UNWINDER:
                        if (!streq(optarg, "libdw") && !streq(optarg, "fp"))
                                return usage_error("unknown unwinder '%s': use libdw or fp", optarg);
                        cli->inspect.unwinder = optarg;
                        break;
                case OPT_STACK_WINDOW:
                        if (parse_size(optarg, &cli->inspect.stack_window) < 0 ||
                            cli->inspect.stack_window < 256 || cli->inspect.stack_window > (64u << 20))
                                return usage_error("invalid --stack-window '%s': expected 256 bytes to 64M", optarg);
                        break;
                case OPT_MAX_FRAMES:
                        if (parse_int(optarg, 1, 100000, &v) < 0)
                                return usage_error("invalid --max-frames '%s': expected 1 to 100000", optarg);
                        cli->inspect.max_frames = (unsigned) v;
                        break;
                case OPT_STOP_TIMEOUT:
                        if (parse_duration_ms(optarg, &ms) < 0 || ms < 1 || ms > 600000)
                                return usage_error("invalid --stop-timeout '%s': use e.g. 500ms or 5s", optarg);
                        cli->inspect.stop_timeout_ms = (unsigned) ms;
                        break;
                case OPT_SYSTEM_LINES:
                        cli->inspect.system_lines = true;
                        break;
                case 'h':
                        print_help(stdout);
                        return 0;
                case OPT_VERSION:
                        printf("leakscan %s\n", LEAKSCAN_VERSION);
                        return 0;
                default:
                        fputs("leakscan: see leakscan --help for the options\n", stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        if (cli->pid == 0)
                return usage_error("%s", "no process given: use -p PID");
        return 1;
}

int main(int argc, char **argv)
{
        struct cli cli = { .backend = &report_text, .error_exitcode = 1 };
        leakscan_options_init(&cli.inspect);

        int r = parse_args(argc, argv, &cli);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;

        /* Separate debug info is looked up on this machine only: libdw would
         * otherwise ask a debuginfod server named in the environment. */
        unsetenv("DEBUGINFOD_URLS");

        struct leakscan_report *report = NULL;
        r = leakscan_inspect_pid(cli.pid, &cli.inspect, &report);
        if (r < 0) {
                char msg[512];
                fprintf(stderr, "leakscan: %s\n", leakscan_describe_error(r, cli.pid, msg, sizeof msg));
                return EXIT_CANNOT_INSPECT;
        }

        FILE *out = stdout;
        if (cli.output) {
                out = fopen(cli.output, "we");
                if (!out) {
                        fprintf(stderr, "leakscan: cannot write the report to %s: %s; choose a writable path for -o\n",
                                cli.output, strerror(errno));
                        leakscan_report_free(report);
                        return EXIT_CANNOT_INSPECT;
                }
        }
        r = cli.backend->write(out, report, &cli.report);
        if (fflush(out) != 0 && r == 0)
                r = -errno;
        if (out != stdout)
                fclose(out);
        if (r < 0) {
                fprintf(stderr, "leakscan: writing the report failed: %s\n", strerror(-r));
                leakscan_report_free(report);
                return EXIT_CANNOT_INSPECT;
        }

        size_t leaked = report_count_leaked(report);
        leakscan_report_free(report);
        return leaked ? cli.error_exitcode : EXIT_SUCCESS;
}
