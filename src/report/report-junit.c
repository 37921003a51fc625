/* JUnit XML report, for the test views of Jenkins, GitLab and others.
 *
 * One <testsuite> per judged process.  Its leaks that a known test created
 * become one <testcase> per test (named as the framework names it), with a
 * <failure> holding the text report of those threads; the process itself is
 * one more <testcase> that fails with the leaks no test claims.  A process
 * killed by a signal, or one that could not be fully checked without a leak
 * to report, is an <error>.  The shape is the common denominator of the
 * JUnit dialects these tools read (testsuites > testsuite > testcase). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report-common.h"
#include "report.h"
#include "util.h"

static const char *basename_of(const char *path)
{
        const char *b = path ? strrchr(path, '/') : NULL;
        return b ? b + 1 : path ? path : "?";
}

/* The text of some groups of p, for a <failure>; NULL on ENOMEM. */
static char *groups_text(const struct leakscan_process *p, const struct report_groups *gs,
                         const struct leakscan_test *test, bool tested)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                return NULL;
        struct report_options plain = {0};
        for (size_t i = 0; i < gs->n; i++) {
                const struct leakscan_thread *t = gs->groups[i].threads[0];
                if (tested ? !t->test || !streq(t->test->name, test->name) : t->test != NULL)
                        continue;
                report_text_group(m, &plain, &gs->groups[i], p);
        }
        if (fclose(m) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static size_t count_threads(const struct report_groups *gs, const struct leakscan_test *test, bool tested)
{
        size_t n = 0;
        for (size_t i = 0; i < gs->n; i++) {
                const struct leakscan_thread *t = gs->groups[i].threads[0];
                if (tested ? t->test && streq(t->test->name, test->name) : !t->test)
                        n += gs->groups[i].n;
        }
        return n;
}

static void junit_failure(FILE *f, size_t n, const char *rule, const char *text)
{
        fprintf(f, "      <failure type=\"%s\" message=\"%zu leaked thread%s\">", rule, n, n == 1 ? "" : "s");
        xml_text(f, text);
        fputs("</failure>\n", f);
}

/* How many processes before processes[i] had its pid: 0, or more within
 * one --follow-forks run that met a pid the kernel gave again.  A later
 * one's test suite and test case are named "(pid N #2)", "process N #2":
 * tools that key results by name would merge or drop alike ones (as the
 * dot backend counts them for its clusters). */
static unsigned pid_seen_before(const struct leakscan_report *report, size_t i)
{
        unsigned before = 0;
        for (size_t j = 0; j < i; j++)
                before += report->processes[j].pid == report->processes[i].pid;
        return before;
}

/* " #N" for a process that is the Nth with its pid, else "". */
static const char *pid_repeat(unsigned before, char *buf, size_t size)
{
        if (!before)
                return "";
        snprintf(buf, size, " #%u", before + 1);
        return buf;
}

static int junit_process(FILE *f, const char *mode, const struct leakscan_process *p, unsigned before,
                         const struct report_options *opts, size_t *cases, size_t *failures, size_t *errors)
{
        char repeat[16];
        struct report_groups gs;
        int r = report_groups_make(p, false, false, &gs);
        if (r < 0)
                return r;
        const char *exe = basename_of(p->exe);

        /* a test case per test that leaked, in the order of their groups */
        for (size_t i = 0; i < gs.n; i++) {
                const struct leakscan_test *test = gs.groups[i].threads[0]->test;
                bool seen = !test;
                for (size_t k = 0; k < i && !seen; k++) {
                        const struct leakscan_test *o = gs.groups[k].threads[0]->test;
                        seen = o && streq(o->name, test->name);
                }
                if (seen)
                        continue;
                _cleanup_free_ char *text = groups_text(p, &gs, test, true);
                if (!text) {
                        report_groups_done(&gs);
                        return -ENOMEM;
                }
                fputs("    <testcase classname=\"", f);
                xml_text(f, test->framework);
                fputs("\" name=\"", f);
                xml_text(f, test->name);
                fputs("\"", f);
                if (test->file) {
                        fputs(" file=\"", f);
                        xml_text(f, test->file);
                        fputs("\"", f);
                }
                if (test->line > 0)
                        fprintf(f, " line=\"%d\"", test->line);
                fputs(">\n", f);
                junit_failure(f, count_threads(&gs, test, true), report_rule_id(gs.groups[i].threads[0]->verdict),
                              text);
                fputs("    </testcase>\n", f);
                (*cases)++;
                (*failures)++;
        }

        /* the process, with the leaks no test claims */
        size_t untested = count_threads(&gs, NULL, false);
        fputs("    <testcase classname=\"leakscan.", f);
        xml_text(f, exe);
        fprintf(f, "\" name=\"threads of process %d%s%s\">\n", (int) p->pid,
                pid_repeat(before, repeat, sizeof repeat),
                streq(mode, "at-exit") ? " at exit" : streq(mode, "timeout") ? " at the timeout" : "");
        (*cases)++;
        if (untested) {
                _cleanup_free_ char *text = groups_text(p, &gs, NULL, false);
                if (!text) {
                        report_groups_done(&gs);
                        return -ENOMEM;
                }
                const char *rule = "leaked-thread";
                for (size_t i = 0; i < gs.n; i++)
                        if (!gs.groups[i].threads[0]->test) {
                                rule = report_rule_id(gs.groups[i].threads[0]->verdict);
                                break;
                        }
                junit_failure(f, untested, rule, text);
                (*failures)++;
        } else if (p->not_inspected && p->exit_signal) {
                fprintf(f, "      <error type=\"signal\" message=\"killed by signal %d (", p->exit_signal);
                xml_text(f, strsignal(p->exit_signal));
                fputs("): its threads could not be checked\"/>\n", f);
                (*errors)++;
        } else if (p->inspect_error) {
                fputs("      <error type=\"incomplete\" message=\"", f);
                xml_text(f, p->inspect_error);
                fputs("\"/>\n", f);
                (*errors)++;
        }
        report_groups_done(&gs);

        /* the whole text report, as a person reads it */
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                return -ENOMEM;
        struct report_options plain = *opts;
        plain.color = false;
        r = report_text_process(m, mode, p, &plain);
        if (fclose(m) != 0 && r == 0)
                r = -ENOMEM;
        if (r == 0 && len > 0) {
                fputs("      <system-err>", f);
                xml_text(f, buf);
                fputs("</system-err>\n", f);
        }
        free(buf);
        fputs("    </testcase>\n", f);
        return r;
}

static int junit_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        /* counts go on the enclosing elements: each process is written to a
         * buffer first */
        size_t all_cases = 0, all_failures = 0, all_errors = 0;
        char **bodies = calloc(report->n_processes + 1, sizeof *bodies);
        size_t *counts = calloc(3 * report->n_processes + 1, sizeof *counts);
        int r = bodies && counts ? 0 : -ENOMEM;
        for (size_t i = 0; i < report->n_processes && r == 0; i++) {
                size_t len = 0;
                FILE *m = open_memstream(&bodies[i], &len);
                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                r = junit_process(m, report->mode, &report->processes[i], pid_seen_before(report, i), opts,
                                  &counts[3 * i], &counts[3 * i + 1], &counts[3 * i + 2]);
                if (fclose(m) != 0 && r == 0)
                        r = -ENOMEM;
                all_cases += counts[3 * i];
                all_failures += counts[3 * i + 1];
                all_errors += counts[3 * i + 2];
        }
        if (r == 0) {
                fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<testsuites name=\"leakscan\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\">\n",
                        all_cases, all_failures, all_errors);
                for (size_t i = 0; i < report->n_processes; i++) {
                        const struct leakscan_process *p = &report->processes[i];
                        char repeat[16];
                        fputs("  <testsuite name=\"leakscan: ", f);
                        xml_text(f, p->exe ? p->exe : "?");
                        fprintf(f, " (pid %d%s)\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\">\n",
                                (int) p->pid, pid_repeat(pid_seen_before(report, i), repeat, sizeof repeat),
                                counts[3 * i], counts[3 * i + 1], counts[3 * i + 2]);
                        fputs("    <properties>\n      <property name=\"mode\" value=\"", f);
                        xml_text(f, report->mode);
                        fputs("\"/>\n", f);
                        if (p->has_exit)
                                fprintf(f, "      <property name=\"%s\" value=\"%d\"/>\n",
                                        p->exit_signal ? "exit_signal" : "exit_code",
                                        p->exit_signal ? p->exit_signal : p->exit_code);
                        if (p->inspect_error) {
                                fputs("      <property name=\"inspect_error\" value=\"", f);
                                xml_text(f, p->inspect_error);
                                fputs("\"/>\n", f);
                        }
                        if (opts && opts->suppressions && i == 0) {
                                char **lines;
                                size_t n;
                                r = report_suppressions(report, &lines, &n);
                                if (r < 0)
                                        break;
                                for (size_t k = 0; k < n; k++) {
                                        fputs("      <property name=\"suppression\" value=\"", f);
                                        xml_text(f, lines[k]);
                                        fputs("\"/>\n", f);
                                        free(lines[k]);
                                }
                                free(lines);
                        }
                        fputs("    </properties>\n", f);
                        fputs(bodies[i], f);
                        fputs("  </testsuite>\n", f);
                }
                if (r == 0)
                        fputs("</testsuites>\n", f);
        }
        for (size_t i = 0; bodies && i < report->n_processes; i++)
                free(bodies[i]);
        free(bodies);
        free(counts);
        if (r < 0)
                return r;
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_junit = {
        .name = "junit",
        .summary = "JUnit XML",
        .write = junit_write,
};
