/* SARIF 2.1.0 report, for code-scanning services (GitHub, GitLab, Azure).
 *
 * One result per group of leaked threads, at the top user frame's line,
 * with the thread's stack and its creator's as SARIF stacks.  The document
 * is checked against the official schema in the test suite, which decides
 * the shapes here: addresses belong to physicalLocation.address (a stack
 * frame may not carry one), URIs are percent-encoded file: URIs or paths
 * relative to %SRCROOT% (--source-root, by default the current directory),
 * and partialFingerprints hash what stays the same across runs (rule,
 * function names, test) and never addresses, TIDs or PIDs, so that the same
 * leak found again is the same alert. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "report-common.h"
#include "report.h"
#include "rules.h"
#include "util.h"

#define SARIF_SCHEMA_URI "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
/* informationUri: a distribution may name its own page */
#ifndef LEAKSCAN_HOMEPAGE
#define LEAKSCAN_HOMEPAGE "https://github.com/leakscan/leakscan"
#endif

struct sarif_rule {
        const char *short_text;
        const char *help;
};

/* One rule per kind of finding (report_rule_of), indexed by it: a result's
 * ruleIndex is its rule. */
static const struct sarif_rule sarif_rules[_REPORT_RULE_MAX] = {
        [REPORT_RULE_RUNNING] = {
                "A thread still running when the process was judged.",
                "The thread was on a CPU or runnable when the process called exit (or at the --timeout) "
                "and did not finish within the grace period. Stop it and join it before the program "
                "exits, or ignore it with a suppression line if it is meant to outlive main.",
        },
        [REPORT_RULE_TIMED] = {
                "A thread in a wait with a timeout, left alive when the process was judged.",
                "The thread sleeps or waits with a timeout, so it would wake up by itself, but it was "
                "still alive at exit. Make the code that starts it also stop and join it.",
        },
        [REPORT_RULE_LEAKED] = {
                "A thread left blocked in a wait that has no timeout.",
                "The thread waits on a lock, condition variable, pipe, socket or similar with no "
                "timeout: at exit (--at-exit), or in a running process reported with --idle. The "
                "stack shows the wait; the stack that created it (with --at-exit) shows who started "
                "it. Signal or close what it waits on and join it.",
        },
        [REPORT_RULE_DEADLOCK] = {
                "A thread on (or waiting for) a cycle of lock owners and joins.",
                "Each thread of the cycle waits for a lock held by, or the end of, the next one, so "
                "none can proceed. Take the locks in one global order, or do not join a thread that "
                "waits for you.",
        },
        [REPORT_RULE_ORPHANED] = {
                "A thread waiting for something no live thread can release.",
                "The owner of the lock has exited without unlocking it, or the other end of the pipe "
                "is held by no live thread: the wait can never end. Unlock on every path (or use a "
                "robust mutex) and close pipe ends in the thread that owns them.",
        },
        [REPORT_RULE_UNREACHABLE] = {
                "A thread waiting on an object no thread able to run can reach any more.",
                "No running thread and no global variable points at the object the thread waits on, "
                "so nobody can wake it. Keep a handle to the thread or its object and stop it "
                "before dropping the last reference.",
        },
};

/* s percent-encoded for a URI path: RFC 3986's unreserved characters and
 * '/' stay, every other byte becomes %XX. */
static void uri_path(FILE *f, const char *s)
{
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~/", *p))
                        fputc(*p, f);
                else
                        fprintf(f, "%%%02X", *p);
        }
}

struct sarif_ctx {
        const char *root;       /* absolute, without a trailing '/', or NULL */
        size_t root_len;
};

/* "artifactLocation": a source path under the root relative to %SRCROOT%,
 * another absolute path as a file: URI, a relative one as it is. */
static void sarif_artifact(FILE *f, const struct sarif_ctx *ctx, const char *path)
{
        fputs("\"artifactLocation\": {\"uri\": \"", f);
        if (ctx->root && strncmp(path, ctx->root, ctx->root_len) == 0 && path[ctx->root_len] == '/') {
                uri_path(f, path + ctx->root_len + 1);
                fputs("\", \"uriBaseId\": \"SRCROOT\"}", f);
                return;
        }
        if (path[0] == '/')
                fputs("file://", f);
        uri_path(f, path);
        fputs("\"}", f);
}

static void sarif_location(FILE *f, const struct sarif_ctx *ctx, const struct leakscan_frame *fr)
{
        fputs("{\"physicalLocation\": {", f);
        if (fr->file) {
                sarif_artifact(f, ctx, fr->file);
                if (fr->line > 0)
                        fprintf(f, ", \"region\": {\"startLine\": %d}", fr->line);
                fputs(", ", f);
        } else if (fr->module) {
                sarif_artifact(f, ctx, fr->module);
                fputs(", ", f);
        }
        fprintf(f, "\"address\": {\"absoluteAddress\": %" PRIu64, fr->pc);
        if (fr->module)
                fprintf(f, ", \"relativeAddress\": %" PRIu64, fr->offset);
        if (fr->function) {
                fputs(", \"fullyQualifiedName\": ", f);
                json_string(f, fr->function);
        }
        fputs("}}", f);
        if (fr->function) {
                fputs(", \"logicalLocations\": [{\"fullyQualifiedName\": ", f);
                json_string(f, fr->function);
                fputs(", \"kind\": \"function\"}]", f);
        }
        fputs("}", f);
}

static const char *basename_of(const char *path)
{
        const char *b = strrchr(path, '/');
        return b ? b + 1 : path;
}

static void sarif_stack(FILE *f, const struct sarif_ctx *ctx, const char *message,
                        const struct leakscan_frame *frames, size_t n, pid_t tid)
{
        fputs("{\"message\": {\"text\": ", f);
        json_string(f, message);
        fputs("}, \"frames\": [", f);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ", {\"location\": " : "{\"location\": ", f);
                sarif_location(f, ctx, &frames[i]);
                if (frames[i].module) {
                        fputs(", \"module\": ", f);
                        json_string(f, basename_of(frames[i].module));
                }
                if (tid > 0)
                        fprintf(f, ", \"threadId\": %d", (int) tid);
                fputs("}", f);
        }
        fputs("]}", f);
}

/* FNV-1a over the parts of a result that survive a rebuild and a rerun. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++)
                h = (h ^ *p) * 0x100000001b3ull;
        return (h ^ 0xff) * 0x100000001b3ull;   /* a separator: "ab","c" != "a","bc" */
}

static uint64_t stack_fingerprint(uint64_t h, const struct leakscan_frame *frames, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!frames[i].system)
                        h = fnv1a(h, frames[i].function ? frames[i].function :
                                     frames[i].module ? basename_of(frames[i].module) : "?");
        return h;
}

static uint64_t result_fingerprint(const struct leakscan_thread *t)
{
        uint64_t h = fnv1a(0xcbf29ce484222325ull, report_rule_id(t->verdict));
        h = fnv1a(h, leakscan_state_to_string(t->state));
        h = stack_fingerprint(h, t->frames, t->n_frames);
        h = fnv1a(h, "created-by");
        if (t->has_created_by)
                h = stack_fingerprint(h, t->created_by, t->n_created_by);
        if (t->test)
                h = fnv1a(h, t->test->name);
        return h;
}

static const char *verdict_words(enum leakscan_verdict v)
{
        switch (v) {
        case LEAKSCAN_VERDICT_RUNNING: return "running";
        case LEAKSCAN_VERDICT_TIMED: return "in a timed wait";
        case LEAKSCAN_VERDICT_DEADLOCK: return "deadlocked";
        case LEAKSCAN_VERDICT_ORPHANED: return "orphaned";
        case LEAKSCAN_VERDICT_UNREACHABLE: return "unreachable";
        case LEAKSCAN_VERDICT_IDLE: return "idle";
        default: return "blocked";
        }
}

static int sarif_result(FILE *f, const struct sarif_ctx *ctx, const struct leakscan_process *p,
                        const struct report_group *g, const struct report_options *opts, bool first)
{
        const struct leakscan_thread *t = g->threads[0];
        bool by_creator;
        const struct leakscan_frame *top = report_top_frame(t, &by_creator);
        _cleanup_free_ char *msg = NULL, *test = NULL;
        /* the message is shown as it is (a terminal, a web page): what the
         * target named is escaped as in the text report */
        _cleanup_free_ char *exe = text_string_dup(p->exe ? p->exe : "?");
        _cleanup_free_ char *function = text_string_dup(top && top->function ? top->function : "");
        _cleanup_free_ char *test_name = text_string_dup(t->test ? t->test->name : "");
        if (!exe || !function || !test_name)
                return -ENOMEM;
        if (t->test && asprintf(&test, ", leaked by test %s", test_name) < 0)
                return -ENOMEM;
        if (asprintf(&msg, "%zu thread%s of process %d (%s) left %s in state %s%s%s%s", g->n,
                     g->n == 1 ? "" : "s", (int) p->pid, exe, verdict_words(t->verdict),
                     leakscan_state_to_string(t->state), !*function ? "" : by_creator ? ", created by " : " in ",
                     function, test ? test : "") < 0)
                return -ENOMEM;
        unsigned rule = report_rule_of(t->verdict);
        fprintf(f, "%s\n    {\"ruleId\": \"%s\", \"ruleIndex\": %u, \"level\": \"error\", \"message\": {\"text\": ",
                first ? "" : ",", report_rule_name(rule), rule);
        json_string(f, msg);
        fputs("}, \"locations\": [", f);
        if (top)
                sarif_location(f, ctx, top);
        fputs("], \"stacks\": [", f);
        sarif_stack(f, ctx, "the thread's stack", t->frames, t->n_frames, t->tid);
        if (t->has_created_by) {
                fputs(", ", f);
                sarif_stack(f, ctx, "the stack that created it", t->created_by, t->n_created_by, 0);
        }
        fputs("]", f);
        if (t->n_frames) {
                fputs(", \"codeFlows\": [{\"threadFlows\": [{\"locations\": [", f);
                for (size_t j = t->n_frames; j-- > 0; ) {
                        fputs(j + 1 == t->n_frames ? "{\"location\": " : ", {\"location\": ", f);
                        sarif_location(f, ctx, &t->frames[j]);
                        fprintf(f, ", \"nestingLevel\": %zu}", t->n_frames - 1 - j);
                }
                fputs("]}]}]", f);
        }
        fprintf(f, ", \"partialFingerprints\": {\"leakscanStack/v1\": \"%016" PRIx64 "\"}", result_fingerprint(t));
        fprintf(f, ", \"properties\": {\"pid\": %d, \"tid\": %d, \"threads\": %zu, \"tids\": [",
                (int) p->pid, (int) t->tid, g->n);
        for (size_t i = 0; i < g->n; i++)
                fprintf(f, "%s%d", i ? ", " : "", (int) g->threads[i]->tid);
        fprintf(f, "], \"state\": \"%s\", \"verdict\": \"%s\"", leakscan_state_to_string(t->state),
                leakscan_verdict_to_string(t->verdict));
        if (t->test) {
                fputs(", \"test\": ", f);
                json_string(f, t->test->name);
                fputs(", \"testFramework\": ", f);
                json_string(f, t->test->framework);
        }
        if (opts && opts->suppressions) {
                _cleanup_free_ char *line = rules_suggest(t);
                fputs(", \"suppression\": ", f);
                json_string(f, line);
        }
        fputs("}}", f);
        return 0;
}

static void sarif_rules_write(FILE *f)
{
        fputs("\"rules\": [", f);
        for (unsigned v = 0; v < _REPORT_RULE_MAX; v++) {
                const struct sarif_rule *r = &sarif_rules[v];
                fprintf(f, "%s\n        {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ",
                        v ? "," : "", report_rule_name(v), report_rule_name(v));
                json_string(f, r->short_text ? r->short_text : "A thread leakscan reports.");
                fputs("}, \"fullDescription\": {\"text\": ", f);
                json_string(f, r->help ? r->help : "");
                fputs("}, \"help\": {\"text\": ", f);
                json_string(f, r->help ? r->help : "");
                fputs("}, \"defaultConfiguration\": {\"level\": \"error\"}, \"properties\": {\"verdicts\": [", f);
                bool first = true;
                for (unsigned k = 0; k < _LEAKSCAN_VERDICT_MAX; k++)
                        if (report_rule_of(k) == v) {
                                fprintf(f, "%s\"%s\"", first ? "" : ", ", leakscan_verdict_to_string(k));
                                first = false;
                        }
                fputs("]}}", f);
        }
        fputs("]", f);
}

static int sarif_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        char cwd[PATH_MAX];
        _cleanup_free_ char *root = NULL;
        const char *want = opts && opts->source_root ? opts->source_root : getcwd(cwd, sizeof cwd);
        if (want)
                root = realpath(want, NULL);
        if (!root && want && want[0] == '/')
                root = strdup(want);
        struct sarif_ctx ctx = { root, 0 };
        if (root) {
                while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
                        root[strlen(root) - 1] = '\0';
                ctx.root_len = streq(root, "/") ? 0 : strlen(root);
                if (ctx.root_len == 0)
                        ctx.root = NULL;        /* "/" as the root: absolute URIs say as much */
        }

        fputs("{\"$schema\": \"" SARIF_SCHEMA_URI "\", \"version\": \"2.1.0\",\n"
              " \"runs\": [{\"tool\": {\"driver\": {\"name\": \"leakscan\", \"version\": \"" LEAKSCAN_VERSION "\", "
              "\"semanticVersion\": \"" LEAKSCAN_VERSION "\", \"informationUri\": \"" LEAKSCAN_HOMEPAGE "\",\n      ", f);
        sarif_rules_write(f);
        fputs("}},\n", f);
        if (ctx.root) {
                fputs("  \"originalUriBaseIds\": {\"SRCROOT\": {\"uri\": \"file://", f);
                uri_path(f, ctx.root);
                fputs("/\"}},\n", f);
        }
        bool complete = true;
        for (size_t i = 0; i < report->n_processes; i++)
                complete &= !report->processes[i].inspect_error;
        fprintf(f, "  \"invocations\": [{\"executionSuccessful\": %s, \"toolExecutionNotifications\": [",
                complete ? "true" : "false");
        bool first = true;
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                if (!p->inspect_error)
                        continue;
                _cleanup_free_ char *msg = NULL, *exe = text_string_dup(p->exe ? p->exe : "?");
                if (!exe || asprintf(&msg, "process %d (%s) could not be fully checked: %s", (int) p->pid,
                                     exe, p->inspect_error) < 0)
                        return -ENOMEM;
                fprintf(f, "%s{\"level\": \"error\", \"message\": {\"text\": ", first ? "" : ", ");
                json_string(f, msg);
                fprintf(f, "}, \"properties\": {\"pid\": %d}}", (int) p->pid);
                first = false;
        }
        /* a thread leakscan stopped inside a call that the stop changes:
         * a note of this run, whether or not the thread is a result */
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                for (size_t k = 0; k < p->n_threads; k++) {
                        char note[REPORT_STOP_NOTE_MAX];
                        if (!report_stop_note(&p->threads[k], note, sizeof note))
                                continue;
                        fprintf(f, "%s{\"level\": \"note\", \"message\": {\"text\": ", first ? "" : ", ");
                        json_string(f, note);
                        fprintf(f, "}, \"properties\": {\"pid\": %d, \"tid\": %d}}", (int) p->pid,
                                (int) p->threads[k].tid);
                        first = false;
                }
        }
        fputs("]}],\n  \"results\": [", f);
        first = true;
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                struct report_groups gs;
                int r = report_groups_make(p, false, false, &gs);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < gs.n && r == 0; k++) {
                        r = sarif_result(f, &ctx, p, &gs.groups[k], opts, first);
                        first = false;
                }
                report_groups_done(&gs);
                if (r < 0)
                        return r;
        }
        fputs("]", f);
        if (opts && opts->suppressions) {
                fputs(",\n  \"properties\": {\"suppressions\": ", f);
                int r = json_write_suppressions(f, report);
                if (r < 0)
                        return r;
                fputc('}', f);
        }
        fputs("}]}\n", f);
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_sarif = {
        .name = "sarif",
        .summary = "SARIF 2.1.0",
        .write = sarif_write,
};
