/* DOT report: the wait-for graph, for Graphviz (`dot -Tsvg`).
 *
 * Threads are boxes, the objects they wait on ellipses; an edge goes from a
 * thread to what it waits on, from an object to the thread that owns it,
 * from a joining thread to the thread it joins.  Deadlock cycles are drawn
 * in red, leaked threads bold, owners that have exited dashed.  The graph
 * holds the threads that wait for something, the leaked ones and those
 * they wait for; with --all every thread.  Node names are built from PIDs,
 * TIDs and addresses only, so any name the target chose stays inside a
 * quoted label. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report-common.h"
#include "report.h"
#include "rules.h"
#include "util.h"

static bool in_cycle(const struct leakscan_process *p, pid_t tid)
{
        for (size_t c = 0; c < p->n_deadlocks; c++)
                for (size_t i = 0; i < p->deadlocks[c].n; i++)
                        if (p->deadlocks[c].tids[i] == tid)
                                return true;
        return false;
}

/* Whether b follows a on some deadlock cycle: the edge a -> b is red. */
static bool cycle_edge(const struct leakscan_process *p, pid_t a, pid_t b)
{
        for (size_t c = 0; c < p->n_deadlocks; c++) {
                const struct leakscan_cycle *cy = &p->deadlocks[c];
                for (size_t i = 0; i < cy->n; i++)
                        if (cy->tids[i] == a && cy->tids[(i + 1) % cy->n] == b)
                                return true;
        }
        return false;
}

static bool waits(const struct leakscan_thread *t)
{
        return t->has_object || t->owner_tid || t->joined_tid || t->fd_target;
}

static bool drawn(const struct leakscan_process *p, const struct leakscan_thread *t, bool all)
{
        if (all || t->leaked || waits(t))
                return true;
        for (size_t i = 0; i < p->n_threads; i++) {     /* someone drawn waits for it */
                const struct leakscan_thread *o = &p->threads[i];
                if ((o->leaked || waits(o)) && (o->owner_tid == t->tid || o->joined_tid == t->tid))
                        return true;
        }
        return false;
}

static void dot_thread(FILE *f, const struct leakscan_process *p, const char *key, const struct leakscan_thread *t)
{
        fprintf(f, "    t%s_%d [shape=box, label=\"thread %d \\\"", key, (int) t->tid, (int) t->tid);
        dot_text(f, t->name);
        fprintf(f, "\\\"%s\\n%s, %s", t->main ? " (main)" : "", leakscan_state_to_string(t->state),
                leakscan_verdict_to_string(t->verdict));
        const struct leakscan_frame *top = report_top_frame(t, NULL);
        if (top && top->function) {
                fputs("\\n", f);
                dot_text(f, top->function);
        }
        if (t->test) {
                fputs("\\ntest ", f);
                dot_text(f, t->test->name);
        }
        fputs("\"", f);
        bool red = t->verdict == LEAKSCAN_VERDICT_DEADLOCK || in_cycle(p, t->tid);
        if (red)
                fputs(", color=red, fontcolor=red", f);
        if (t->leaked)
                fputs(", style=bold", f);
        else if (t->ignored_by)
                fputs(", style=dotted", f);
        fputs("];\n", f);
}

static void dot_object_name(FILE *f, const char *key, const struct leakscan_thread *t)
{
        if (t->has_object)
                fprintf(f, "o%s_%" PRIx64, key, t->object.address);
        else
                fprintf(f, "fd%s_%d", key, (int) t->tid);
}

static void dot_object(FILE *f, const char *key, const struct leakscan_thread *t)
{
        fputs("    ", f);
        dot_object_name(f, key, t);
        fputs(" [shape=ellipse, label=\"", f);
        if (t->has_object) {
                const struct leakscan_wait_object *o = &t->object;
                dot_text(f, o->kind);
                fputs(" ", f);
                if (o->symbol)
                        dot_text(f, o->symbol);
                else
                        fprintf(f, "0x%" PRIx64, o->address);
                if (o->file) {
                        fputs("\\n", f);
                        dot_text(f, strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file);
                        fprintf(f, ":%d", o->line);
                }
        } else {
                fprintf(f, "fd %d\\n", t->wait_fd);
                dot_text(f, t->fd_target);
                if (t->peer) {
                        fputs("\\n", f);
                        dot_text(f, t->peer);
                }
        }
        fputs("\"];\n", f);
}

static void dot_target(FILE *f, const struct leakscan_process *p, const char *key, pid_t tid)
{
        if (report_thread_by_tid(p, tid))
                fprintf(f, "t%s_%d", key, (int) tid);
        else
                fprintf(f, "gone%s_%d", key, (int) tid);
}

/* One process's cluster.  key names its nodes: its pid, or, for a later
 * process given the same pid within one run (--follow-forks), the pid and
 * how many had it before ("123_2"), so that Graphviz does not merge the
 * two. */
static void dot_process(FILE *f, const struct leakscan_process *p, const char *key, const struct report_options *opts)
{
        bool all = opts && opts->all;
        fprintf(f, "  subgraph cluster_%s {\n    label=\"process %d (", key, (int) p->pid);
        dot_text(f, p->exe ? p->exe : "?");
        fputs(")", f);
        if (p->inspect_error) {
                fputs("\\nnot fully checked: ", f);
                dot_text(f, p->inspect_error);
        }
        fputs("\";\n", f);

        for (size_t i = 0; i < p->n_threads; i++)
                if (drawn(p, &p->threads[i], all))
                        dot_thread(f, p, key, &p->threads[i]);
        /* objects once each, and owners that have exited */
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (!drawn(p, t, all))
                        continue;
                bool first = true;
                for (size_t k = 0; k < i && first; k++)
                        first = !(t->has_object && p->threads[k].has_object && drawn(p, &p->threads[k], all) &&
                                  p->threads[k].object.address == t->object.address);
                if ((t->has_object || t->fd_target) && first)
                        dot_object(f, key, t);
                pid_t other = t->owner_tid ? t->owner_tid : t->joined_tid;
                bool gone_first = true;
                for (size_t k = 0; k < i && gone_first; k++)
                        gone_first = (p->threads[k].owner_tid ? p->threads[k].owner_tid : p->threads[k].joined_tid) != other ||
                                     !drawn(p, &p->threads[k], all);
                if (other && !report_thread_by_tid(p, other) && gone_first)
                        fprintf(f, "    gone%s_%d [shape=box, style=dashed, label=\"thread %d\\n(exited)\"];\n",
                                key, (int) other, (int) other);
        }
        /* edges: thread -> object -> owner, thread -> joined thread */
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (!drawn(p, t, all) || !waits(t))
                        continue;
                pid_t other = t->owner_tid ? t->owner_tid : t->joined_tid;
                const char *red = other && cycle_edge(p, t->tid, other) ? ", color=red, fontcolor=red" : "";
                if (t->has_object || t->fd_target) {
                        fprintf(f, "    t%s_%d -> ", key, (int) t->tid);
                        dot_object_name(f, key, t);
                        fprintf(f, " [label=\"waits\"%s];\n", red);
                        if (t->owner_tid) {
                                fputs("    ", f);
                                dot_object_name(f, key, t);
                                fputs(" -> ", f);
                                dot_target(f, p, key, t->owner_tid);
                                fprintf(f, " [label=\"owned by\"%s%s];\n", red, t->owner_gone ? ", style=dashed" : "");
                        }
                }
                if (t->joined_tid || (t->owner_tid && !t->has_object && !t->fd_target)) {
                        fprintf(f, "    t%s_%d -> ", key, (int) t->tid);
                        dot_target(f, p, key, other);
                        fprintf(f, " [label=\"%s\"%s];\n", t->joined_tid ? "joins" : "waits for", red);
                }
        }
        fputs("  }\n", f);
}

static int dot_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        fputs("digraph leakscan {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n"
              "  edge [fontname=\"monospace\", fontsize=10];\n", f);
        if (opts && opts->suppressions) {
                char **lines;
                size_t n;
                int r = report_suppressions(report, &lines, &n);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++) {
                        /* dot_text escapes line breaks: the comment
                         * cannot end early */
                        fputs("  // suppression: ", f);
                        dot_text(f, lines[i]);
                        fputc('\n', f);
                        free(lines[i]);
                }
                free(lines);
        }
        for (size_t i = 0; i < report->n_processes; i++) {
                char key[32];
                unsigned before = 0;
                for (size_t j = 0; j < i; j++)
                        before += report->processes[j].pid == report->processes[i].pid;
                if (before)
                        snprintf(key, sizeof key, "%d_%u", (int) report->processes[i].pid, before + 1);
                else
                        snprintf(key, sizeof key, "%d", (int) report->processes[i].pid);
                dot_process(f, &report->processes[i], key, opts);
        }
        fputs("}\n", f);
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_dot = {
        .name = "dot",
        .summary = "wait-for graph, Graphviz",
        .write = dot_write,
};
