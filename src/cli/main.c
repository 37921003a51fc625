/* leakscan command line: runs what the options (options.c) ask for, wiring
 * the steps (inspect, then a report backend).  It is, with the report
 * backends, the only code that prints; every failure is one line naming the
 * cause and the remedy. */
#include <errno.h>
#include <signal.h>
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
#include "options.h"
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
 * its PID names (processes that had the same, reused, PID share it).
 * Returns 0, or an exit status for a failure, with its message printed. */
static int write_report(const struct cli *cli, struct leakscan_report *report, FILE *default_out,
                        size_t *ret_leaked)
{
        *ret_leaked = report_count_leaked(report);
        /* text with its suppression lines on stdout: the report on stderr */
        if (cli->print_suppressions && !cli->suppressions_file && cli->backend == &report_text && !cli->at_exit)
                default_out = stderr;
        int status = 0;
        if (cli->output && report->n_processes > 1 && output_names_pid(cli->output)) {
                _cleanup_free_ struct leakscan_process *same_pid =
                        calloc(report->n_processes, sizeof(*same_pid));
                if (!same_pid) {
                        fprintf(stderr, "leakscan: writing the report failed: %s\n", strerror(ENOMEM));
                        status = EXIT_CANNOT_INSPECT;
                }
                for (size_t i = 0; i < report->n_processes && status == 0; i++) {
                        pid_t pid = report->processes[i].pid;
                        size_t n = 0, j;
                        for (j = 0; j < i && report->processes[j].pid != pid; j++)
                                ;
                        if (j < i)
                                continue;       /* written with the first of its pid */
                        /* a reused pid: the processes that had it share its
                         * file, in the order they ended, rather than the
                         * later one truncating the earlier one's */
                        for (j = i; j < report->n_processes; j++)
                                if (report->processes[j].pid == pid)
                                        same_pid[n++] = report->processes[j];
                        struct leakscan_report doc = *report;
                        doc.processes = same_pid;
                        doc.n_processes = n;
                        status = write_document(cli, &doc, pid, default_out);
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
        struct creator_lookup creators = { watch_find_creator, tr, track_creator_python };
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
 * leaks (--error-exitcode), the report could not be written (3), an
 * exiting process's analysis failed or it could not be judged at all (3),
 * else 0.
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
        if (supervise_analysers_failed() || supervise_unjudged()) {
                if (cli->output && supervise_analysers_failed())        /* else the report just said it */
                        fprintf(stderr, "leakscan: the analysis of %u exiting process%s failed: see the report\n",
                                supervise_analysers_failed(), supervise_analysers_failed() > 1 ? "es" : "");
                if (cli->output && supervise_unjudged())
                        fprintf(stderr, "leakscan: %u exiting process%s could not be judged: see the report\n",
                                supervise_unjudged(), supervise_unjudged() > 1 ? "es" : "");
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

        int r = options_parse(argc, argv, &cli);
        if (r <= 0) {
                rule_set_done(&cli.rules);
                baseline_done(&cli.baseline);
                serve_options_done(&cli.serve);
                return r == 0 ? EXIT_OK : r == -ENOMEM ? EXIT_CANNOT_INSPECT : EXIT_USAGE;
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
