/* Baselines and watches; see baseline.h. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "report.h"
#include "rules.h"
#include "util.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
        const unsigned char *p = data;
        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= 0x100000001b3ull;
        }
        return h;
}

uint64_t baseline_signature(const struct leakscan_thread *t)
{
        uint64_t h = 0xcbf29ce484222325ull;
        int state = (int) t->state;
        h = fnv1a(h, &state, sizeof state);
        for (size_t i = 0; i < t->n_frames; i++) {
                const struct leakscan_frame *f = &t->frames[i];
                if (f->function) {
                        h = fnv1a(h, f->function, strlen(f->function) + 1);
                } else {
                        if (f->module)
                                h = fnv1a(h, f->module, strlen(f->module) + 1);
                        h = fnv1a(h, &f->offset, sizeof f->offset);
                }
        }
        return h;
}

int baseline_write(FILE *f, const struct leakscan_process *p)
{
        fprintf(f, "# leakscan baseline 1: process %d (%s)\n# TID START-TIME STACK-SIGNATURE NAME\n",
                (int) p->pid, p->exe ? p->exe : "?");
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                fprintf(f, "%d %" PRIu64 " %016" PRIx64 " %s\n", (int) t->tid, t->start_time,
                        baseline_signature(t), t->name);
        }
        return ferror(f) ? -EIO : 0;
}

void baseline_done(struct baseline *b)
{
        free(b->entries);
        free(b->path);
        *b = (struct baseline) {0};
}

/* One line: "TID START-TIME ..." in decimal.  Returns 0 or -EINVAL. */
static int parse_line(const char *line, struct baseline_entry *ret)
{
        char *end;
        if (!isdigit((unsigned char) line[0]))
                return -EINVAL;
        errno = 0;
        unsigned long tid = strtoul(line, &end, 10);
        if (errno || tid == 0 || tid > INT32_MAX || (*end != ' ' && *end != '\t'))
                return -EINVAL;
        while (*end == ' ' || *end == '\t')
                end++;
        const char *p = end;
        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        uint64_t start = strtoull(p, &end, 10);
        if (errno || (*end && *end != ' ' && *end != '\t' && *end != '\r'))
                return -EINVAL;
        *ret = (struct baseline_entry) { (pid_t) tid, start };
        return 0;
}

int baseline_parse(const char *name, const char *text, size_t len, struct baseline *ret, char **ret_error)
{
        struct baseline b = { .path = strdup(name) };
        _cleanup_free_ char *copy = malloc(len + 1);
        if (!b.path || !copy) {
                free(b.path);
                return -ENOMEM;
        }
        memcpy(copy, text, len);
        copy[len] = 0;
        unsigned lineno = 0;
        for (char *line = copy, *next; line; line = next) {
                char *eol = memchr(line, '\n', (size_t) (copy + len - line));
                size_t linelen = eol ? (size_t) (eol - line) : (size_t) (copy + len - line);
                lineno++;
                next = eol ? eol + 1 : NULL;
                const char *why = NULL;
                struct baseline_entry e;
                if (memchr(line, 0, linelen))
                        why = "a NUL byte: not a text file";
                else {
                        line[linelen] = 0;
                        if (!*line || *line == '#')
                                continue;
                        if (parse_line(line, &e) < 0)
                                why = "not a baseline line (TID START-TIME ...)";
                }
                if (why) {
                        char quoted[128];
                        int r = memchr(line, 0, linelen) ?
                                asprintf(ret_error, "%s:%u: %s", name, lineno, why) :
                                asprintf(ret_error, "%s:%u: %s: \"%s\"", name, lineno, why,
                                         escape_excerpt(line, 60, quoted, sizeof quoted));
                        if (r < 0)
                                *ret_error = NULL;
                        baseline_done(&b);
                        return -EINVAL;
                }
                if (grow_array(&b.entries, &b.cap, b.n + 1, sizeof *b.entries) < 0) {
                        baseline_done(&b);
                        return -ENOMEM;
                }
                b.entries[b.n++] = e;
        }
        *ret = b;
        return 0;
}

int baseline_read(const char *path, struct baseline *ret, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        ssize_t r = read_full_file(path, &text);
        if (r < 0) {
                if (asprintf(ret_error, "cannot read baseline %s: %s", path, strerror((int) -r)) < 0)
                        *ret_error = NULL;
                return (int) r;
        }
        return baseline_parse(path, text, (size_t) r, ret, ret_error);
}

bool baseline_contains(const struct baseline *b, pid_t tid, uint64_t start_time)
{
        for (size_t j = 0; j < b->n; j++)
                /* a reused TID starts later: a new thread */
                if (b->entries[j].tid == tid && b->entries[j].start_time == start_time)
                        return true;
        return false;
}

/* ---- watch ---- */

/* Whether thread t (by TID and start time) was a thread of p. */
static bool alive_in(const struct leakscan_process *p, const struct leakscan_thread *t)
{
        for (size_t i = 0; i < p->n_threads; i++)
                if (p->threads[i].tid == t->tid && p->threads[i].start_time == t->start_time)
                        return true;
        return false;
}

/* What a new thread runs before its start routine: the clone trampoline
 * (glibc's clone and clone3 wrappers and start_thread, Go's runtime.clone,
 * named with an assembly function's ABI suffix or without). */
static const char *const trampolines[] = { "clone", "clone3", "__clone", "__clone3", "start_thread",
                                           "runtime.clone" };

static bool is_trampoline(const char *function)
{
        if (!function)
                return false;
        size_t len = strlen(function);
        const char *abi = strstr(function, ".abi");
        if (abi && abi[4] && strspn(abi + 4, "0123456789") == strlen(abi + 4))
                len = (size_t) (abi - function);
        for (size_t i = 0; i < ARRAY_SIZE(trampolines); i++)
                if (strlen(trampolines[i]) == len && strncmp(function, trampolines[i], len) == 0)
                        return true;
        return false;
}

/* Whether t was caught being born: created, its stack still nothing but the
 * clone trampoline, its start routine not called yet.  Such a thread is in
 * a group of its own for one snapshot (the one that catches it there), and
 * in its real one by the next: counted, it made a group "grow" that no
 * thread stays in. */
static bool being_born(const struct leakscan_thread *t)
{
        if (t->main || t->n_frames == 0)
                return false;
        for (size_t i = 0; i < t->n_frames; i++)
                if (!is_trampoline(t->frames[i].function))
                        return false;
        return true;
}

int watch_add(struct watch *w, struct leakscan_report *snapshot)
{
        struct leakscan_report **ns = realloc(w->snapshots, (w->n_snapshots + 1) * sizeof *ns);
        if (!ns)
                return -ENOMEM;
        w->snapshots = ns;
        size_t idx = w->n_snapshots++;
        w->snapshots[idx] = snapshot;
        for (size_t g = 0; g < w->n_groups; g++) {
                size_t *nc = realloc(w->groups[g].counts, w->n_snapshots * sizeof *nc);
                if (!nc)
                        return -ENOMEM;
                w->groups[g].counts = nc;
                nc[idx] = 0;
                w->groups[g].example = NULL;
                w->groups[g].new_in_last = 0;
        }
        const struct leakscan_process *p = &snapshot->processes[0];
        for (size_t i = 0; i < p->n_threads; i++) {
                struct leakscan_thread *t = &p->threads[i];
                if (being_born(t))
                        continue;
                uint64_t sig = baseline_signature(t);
                struct watch_group *g = NULL;
                for (size_t k = 0; k < w->n_groups && !g; k++)
                        if (w->groups[k].signature == sig)
                                g = &w->groups[k];
                if (!g) {
                        struct watch_group *ng = realloc(w->groups, (w->n_groups + 1) * sizeof *ng);
                        size_t *counts = calloc(w->n_snapshots, sizeof *counts);
                        if (!ng || !counts) {
                                if (ng)
                                        w->groups = ng;
                                free(counts);
                                return -ENOMEM;
                        }
                        w->groups = ng;
                        g = &w->groups[w->n_groups++];
                        *g = (struct watch_group) { .signature = sig, .counts = counts };
                }
                g->counts[idx]++;
                if (idx > 0 && !alive_in(&w->snapshots[0]->processes[0], t))
                        g->new_in_last++;
                /* the example: the newest thread, preferably one we saw
                 * being created, for its creator stack */
                if (!g->example || t->has_created_by || !g->example->has_created_by)
                        g->example = t;
        }
        /* the threads of the snapshot before that are gone now ended in
         * the group they were last seen in */
        const struct leakscan_process *prev = idx > 0 ? &w->snapshots[idx - 1]->processes[0] : NULL;
        for (size_t i = 0; prev && i < prev->n_threads; i++) {
                if (alive_in(p, &prev->threads[i]))
                        continue;
                uint64_t sig = baseline_signature(&prev->threads[i]);
                for (size_t k = 0; k < w->n_groups; k++)
                        if (w->groups[k].signature == sig) {
                                w->groups[k].ended++;
                                break;
                        }
        }
        return 0;
}

void watch_done(struct watch *w)
{
        for (size_t i = 0; i < w->n_snapshots; i++)
                leakscan_report_free(w->snapshots[i]);
        free(w->snapshots);
        for (size_t g = 0; g < w->n_groups; g++)
                free(w->groups[g].counts);
        free(w->groups);
        *w = (struct watch) {0};
}

static size_t total_threads(const struct leakscan_report *r)
{
        return r->processes[0].n_threads;
}

int watch_write_text(FILE *f, const struct watch *w, int64_t interval_ms)
{
        const struct leakscan_process *last = &w->snapshots[w->n_snapshots - 1]->processes[0];
        size_t first_n = total_threads(w->snapshots[0]), last_n = last->n_threads;
        size_t grown = 0;
        for (size_t g = 0; g < w->n_groups; g++)
                grown += watch_growth(w, &w->groups[g]) > 0;
        fprintf(f, "leakscan: watched process %d (%s) for %zu snapshots %" PRId64 "ms apart: %zu -> %zu threads",
                (int) last->pid, last->exe ? last->exe : "?", w->n_snapshots, interval_ms, first_n, last_n);
        size_t elastic = 0;
        for (size_t g = 0; g < w->n_groups; g++)
                elastic += watch_elastic(w, &w->groups[g]);
        if (!grown)
                fputs(", no group of threads grew", f);
        else
                fprintf(f, ", %zu group%s grew", grown, grown == 1 ? "" : "s");
        if (elastic)
                fprintf(f, " (%zu more grew but also lost threads that ended: pools, not leaks)", elastic);
        fputs(grown ? "\n\n" : "\n", f);
        if (!grown)
                return ferror(f) ? -EIO : 0;
        for (size_t g = 0; g < w->n_groups; g++) {
                const struct watch_group *grp = &w->groups[g];
                int64_t d = watch_growth(w, grp);
                if (d <= 0 || !grp->example)
                        continue;
                fprintf(f, "+%" PRId64 " thread%s (counts:", d, d == 1 ? "" : "s");
                for (size_t s = 0; s < w->n_snapshots; s++)
                        fprintf(f, " %zu", grp->counts[s]);
                fputs(") like this one:\n", f);
                report_text_thread(f, grp->example, last);
        }
        return ferror(f) ? -EIO : 0;
}

int watch_write_json(FILE *f, const struct watch *w, int64_t interval_ms)
{
        const struct leakscan_process *last = &w->snapshots[w->n_snapshots - 1]->processes[0];
        fprintf(f, "{\"schema\": \"%s\", \"mode\": \"watch\", \"pid\": %d, \"interval_ms\": %" PRId64
                ", \"snapshots\": %zu,\n  \"threads\": [", LEAKSCAN_SCHEMA, (int) last->pid, interval_ms,
                w->n_snapshots);
        for (size_t s = 0; s < w->n_snapshots; s++)
                fprintf(f, "%s%zu", s ? ", " : "", total_threads(w->snapshots[s]));
        fputs("],\n  \"groups\": [", f);
        bool first = true;
        size_t grown = 0, elastic = 0;
        for (size_t g = 0; g < w->n_groups; g++) {
                const struct watch_group *grp = &w->groups[g];
                if (!grp->example)
                        continue;
                int64_t d = watch_growth(w, grp);
                grown += d > 0;
                elastic += watch_elastic(w, grp);
                fprintf(f, "%s\n    {\"signature\": \"%016" PRIx64 "\", \"growth\": %" PRId64 ", \"ended\": %zu, \"counts\": [",
                        first ? "" : ",", grp->signature, d, grp->ended);
                first = false;
                for (size_t s = 0; s < w->n_snapshots; s++)
                        fprintf(f, "%s%zu", s ? ", " : "", grp->counts[s]);
                fputs("], \"example\": ", f);
                report_json_thread(f, grp->example);
                fputs("}", f);
        }
        fprintf(f, "],\n  \"summary\": {\"groups_grown\": %zu, \"groups_elastic\": %zu}}\n", grown, elastic);
        return ferror(f) ? -EIO : 0;
}
