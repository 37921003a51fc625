/* Report backends; see report.h.
 *
 * The text report follows goleak's ("found N unexpected goroutines", "with F
 * on top of the stack"), with threads of identical state and stack printed
 * once with their count, as panicparse does.  The JSON report is the
 * versioned schema "leakscan/1": fields are added, never removed or renamed. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report-common.h"
#include "report.h"
#include "rules.h"
#include "util.h"

static bool text_printable(uint32_t cp);

static const char *const read_names[_LEAKSCAN_READ_MAX] = {
        [LEAKSCAN_READ_UNKNOWN] = "unknown",
        [LEAKSCAN_READ_STOP_FREE] = "stop-free",
        [LEAKSCAN_READ_STOPPED] = "stopped",
        [LEAKSCAN_READ_HELD] = "held",
        [LEAKSCAN_READ_PROC_ONLY] = "proc-only",
        [LEAKSCAN_READ_SAMPLED] = "sampled",
};

const char *report_read_name(enum leakscan_read read)
{
        return (unsigned) read < _LEAKSCAN_READ_MAX ? read_names[read] : read_names[LEAKSCAN_READ_UNKNOWN];
}

/* The note of t, saying who was stopped (subject: "this thread", "3 of
 * these threads"), in buf; NULL when t has none. */
static const char *stop_note_of(const struct leakscan_thread *t, const char *subject, char *buf, size_t size)
{
        if (t->read != LEAKSCAN_READ_STOPPED || !t->stop_effect)
                return NULL;
        char call[48];
        if (t->syscall)
                snprintf(call, sizeof call, "%s()", t->syscall);
        else if (t->syscall_nr >= 0)
                snprintf(call, sizeof call, "syscall %ld", t->syscall_nr);
        else    /* found running, inside a call all the same (analyse_read_mark) */
                snprintf(call, sizeof call, "a call it was running in");
        snprintf(buf, size, "leakscan stopped %s inside %s: %s (see RELIABILITY.md, the syscall matrix)",
                 subject, call, t->stop_effect);
        return buf;
}

const char *report_stop_note(const struct leakscan_thread *t, char *buf, size_t size)
{
        return stop_note_of(t, "this thread", buf, size);
}

/* Whether a and b carry the same stop note. */
static bool same_stop_note(const struct leakscan_thread *a, const struct leakscan_thread *b)
{
        return a->read == b->read && a->syscall_nr == b->syscall_nr && a->stop_effect && b->stop_effect &&
               streq(a->stop_effect, b->stop_effect);
}

/* Turns every byte of line that text_string would escape into '?', which
 * matches any byte: the line still matches the thread, and can be printed
 * to a terminal or kept in a file as it is. */
static void glob_unprintable(char *line)
{
        while (*line) {
                uint32_t cp;
                size_t len = utf8_char(line, &cp);
                if (len > 0 && text_printable(cp)) {
                        line += len;
                        continue;
                }
                for (size_t i = 0; i < (len ? len : 1); i++)
                        *line++ = '?';
        }
}

/* The suggested line of each leaked thread, once each. */
int report_suppressions(const struct leakscan_report *report, char ***ret_lines, size_t *ret_n)
{
        size_t n = 0, cap = report_count_leaked(report) + 1;
        char **lines = calloc(cap, sizeof *lines);
        if (!lines)
                return -ENOMEM;
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                for (size_t k = 0; k < p->n_threads; k++) {
                        if (!p->threads[k].leaked)
                                continue;
                        char *line = rules_suggest(&p->threads[k]);
                        if (line)
                                glob_unprintable(line);
                        bool seen = !line;
                        for (size_t j = 0; j < n && !seen; j++)
                                seen = streq(lines[j], line);
                        if (seen)
                                free(line);
                        else
                                lines[n++] = line;
                }
        }
        *ret_lines = lines;
        *ret_n = n;
        return 0;
}

int report_write_suppressions(FILE *f, const struct leakscan_report *report)
{
        char **lines;
        size_t n;
        int r = report_suppressions(report, &lines, &n);
        if (r < 0)
                return r;
        /* a comment only: the file may be appended to and read back */
        fputs("# leakscan suppressions (--suppressions=FILE) for the leaks of", f);
        for (size_t i = 0; i < report->n_processes; i++) {
                const char *exe = report->processes[i].exe;
                fprintf(f, "%s process %d", i ? "," : "", (int) report->processes[i].pid);
                if (exe) {
                        fputs(" (", f);
                        text_string(f, exe);
                        fputc(')', f);
                }
        }
        fputc('\n', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", lines[i]);
        strv_free(lines);
        return ferror(f) ? -EIO : 0;
}

size_t report_count_leaked(const struct leakscan_report *report)
{
        size_t n = 0;
        for (size_t i = 0; i < report->n_processes; i++)
                for (size_t k = 0; k < report->processes[i].n_threads; k++)
                        n += report->processes[i].threads[k].leaked;
        return n;
}

/* ---- escaping ---- */

size_t utf8_char(const char *str, uint32_t *ret_cp)
{
        const unsigned char *s = (const unsigned char *) str;
        uint32_t cp;
        size_t len;
        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        }
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                len = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                len = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                len = 4;
                cp = s[0] & 0x07;
        } else {
                return 0;
        }
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)      /* also stops at the NUL */
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return len;
}

/* Whether code point cp may reach a terminal as it is. */
static bool text_printable(uint32_t cp)
{
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
                return false;
        /* LRE..RLO, LRI..PDI, LRM, RLM, ALM: the order of what follows */
        if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
            cp == 0x200e || cp == 0x200f || cp == 0x061c)
                return false;
        return cp != 0x2028 && cp != 0x2029;
}

void text_string(FILE *f, const char *s)
{
        while (s && *s) {
                size_t plain = 0;
                while ((unsigned char) s[plain] >= 0x20 && (unsigned char) s[plain] < 0x7f)
                        plain++;
                if (plain > 0) {
                        fwrite(s, 1, plain, f);
                        s += plain;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                if (len > 0 && text_printable(cp)) {
                        fwrite(s, 1, len, f);
                        s += len;
                        continue;
                }
                /* every byte of the character: \xc2\x9b for the C1 CSI */
                for (size_t i = 0; i < (len ? len : 1); i++)
                        fprintf(f, "\\x%02x", (unsigned char) s[i]);
                s += len ? len : 1;
        }
}

char *text_string_dup(const char *s)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                return NULL;
        text_string(m, s);
        if (fclose(m) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

void json_string(FILE *f, const char *s)
{
        if (!s) {
                fputs("null", f);
                return;
        }
        fputc('"', f);
        while (*s) {
                /* a run of printable ASCII that needs no escape goes out in
                 * one write: a report of 1000 threads holds ~1M such bytes,
                 * and a write per character was half the writer's time */
                size_t plain = 0;
                while ((unsigned char) s[plain] >= 0x20 && (unsigned char) s[plain] < 0x7f &&
                       s[plain] != '"' && s[plain] != '\\')
                        plain++;
                if (plain > 0) {
                        fwrite(s, 1, plain, f);
                        s += plain;
                        continue;
                }
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                if (len == 0) {
                        fprintf(f, "\\\\x%02x", (unsigned char) *s);
                        s++;
                        continue;
                }
                switch (cp) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                default:
                        if (cp < 0x20 || cp == 0x7f)
                                fprintf(f, "\\u%04x", (unsigned) cp);
                        else
                                fwrite(s, 1, len, f);
                }
                s += len;
        }
        fputc('"', f);
}

int json_write_suppressions(FILE *f, const struct leakscan_report *report)
{
        char **lines;
        size_t n;
        int r = report_suppressions(report, &lines, &n);
        if (r < 0)
                return r;
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ", " : "", f);
                json_string(f, lines[i]);
        }
        fputc(']', f);
        strv_free(lines);
        return 0;
}

void xml_text(FILE *f, const char *s)
{
        while (s && *s) {
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                /* C1 controls and bidirectional overrides are valid XML,
                 * but CI tools print test names and messages to terminals */
                bool allowed = len > 0 && (text_printable(cp) || cp == '\t' || cp == '\n' || cp == '\r') &&
                               cp != 0xfffe && cp != 0xffff;
                if (!allowed) {
                        fprintf(f, "\\x%02x", (unsigned char) *s);
                        s++;
                        continue;
                }
                switch (cp) {
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '&': fputs("&amp;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\'': fputs("&apos;", f); break;
                case '\n': fputs("&#10;", f); break;   /* kept in attributes too */
                case '\r': fputs("&#13;", f); break;
                case '\t': fputs("&#9;", f); break;
                default: fwrite(s, 1, len, f);
                }
                s += len;
        }
}

void dot_text(FILE *f, const char *s)
{
        while (s && *s) {
                uint32_t cp;
                size_t len = utf8_char(s, &cp);
                if (len == 0 || cp < 0x20 || cp == 0x7f) {
                        /* \\ in a DOT string is one backslash */
                        fprintf(f, "\\\\x%02x", (unsigned char) *s);
                        s++;
                        continue;
                }
                if (cp == '"' || cp == '\\')
                        fputc('\\', f);
                fwrite(s, 1, len, f);
                s += len;
        }
}

unsigned report_rule_of(enum leakscan_verdict v)
{
        static const unsigned rules[_LEAKSCAN_VERDICT_MAX] = {
                [LEAKSCAN_VERDICT_RUNNING] = REPORT_RULE_RUNNING,
                [LEAKSCAN_VERDICT_TIMED] = REPORT_RULE_TIMED,
                [LEAKSCAN_VERDICT_BLOCKED] = REPORT_RULE_LEAKED,
                [LEAKSCAN_VERDICT_DEADLOCK] = REPORT_RULE_DEADLOCK,
                [LEAKSCAN_VERDICT_ORPHANED] = REPORT_RULE_ORPHANED,
                /* an idle thread is reported (--idle) for what a blocked
                 * one is at exit: an indefinite wait */
                [LEAKSCAN_VERDICT_IDLE] = REPORT_RULE_LEAKED,
                [LEAKSCAN_VERDICT_UNREACHABLE] = REPORT_RULE_UNREACHABLE,
        };
        return (unsigned) v < ARRAY_SIZE(rules) ? rules[v] : REPORT_RULE_LEAKED;
}

const char *report_rule_name(unsigned rule)
{
        static const char *const ids[_REPORT_RULE_MAX] = {
                [REPORT_RULE_RUNNING] = "running-thread",
                [REPORT_RULE_TIMED] = "timed-wait-thread",
                [REPORT_RULE_LEAKED] = "leaked-thread",
                [REPORT_RULE_DEADLOCK] = "deadlock",
                [REPORT_RULE_ORPHANED] = "orphaned-wait",
                [REPORT_RULE_UNREACHABLE] = "unreachable-wait",
        };
        return rule < ARRAY_SIZE(ids) ? ids[rule] : "leaked-thread";
}

const char *report_rule_id(enum leakscan_verdict v)
{
        return report_rule_name(report_rule_of(v));
}

/* ---- text ---- */

static const char *basename_of(const char *path)
{
        const char *b = path ? strrchr(path, '/') : NULL;
        return b ? b + 1 : path;
}

static bool same_group(const struct leakscan_thread *a, const struct leakscan_thread *b)
{
        if (a->state != b->state || a->verdict != b->verdict || a->leaked != b->leaked ||
            a->n_frames != b->n_frames)
                return false;
        for (size_t i = 0; i < a->n_frames; i++)
                if (a->frames[i].pc != b->frames[i].pc || a->frames[i].inlined != b->frames[i].inlined)
                        return false;
        if (a->n_created_by != b->n_created_by || a->exiting != b->exiting ||
            a->owner_tid != b->owner_tid || a->joined_tid != b->joined_tid)
                return false;
        for (size_t i = 0; i < a->n_created_by; i++)
                if (a->created_by[i].pc != b->created_by[i].pc)
                        return false;
        if ((a->ignored_by != NULL) != (b->ignored_by != NULL))
                return false;
        /* one group per test: each test is named with its own leaks */
        if (!a->test || !b->test)
                return a->test == b->test;
        return streq(a->test->framework, b->test->framework) && streq(a->test->name, b->test->name);
}

static void format_duration(char *buf, size_t size, int64_t ms)
{
        if (ms < 1000)
                snprintf(buf, size, "%" PRId64 "ms", ms);
        else if (ms < 600000)
                snprintf(buf, size, "%.1fs", (double) ms / 1000.0);
        else
                snprintf(buf, size, "%" PRId64 "m", ms / 60000);
}

enum color { COLOR_RESET, COLOR_USER, COLOR_SYSTEM, COLOR_TOP };

/* ANSI colours on a terminal: the user's frames bright, the system's dim,
 * the function on top of the stack highlighted. */
static void color(FILE *f, const struct report_options *opts, enum color c)
{
        static const char *const codes[] = {
                [COLOR_RESET] = "\033[0m", [COLOR_USER] = "\033[1m",
                [COLOR_SYSTEM] = "\033[2m", [COLOR_TOP] = "\033[1;33m",
        };
        if (opts && opts->color)
                fputs(codes[c], f);
}

static void text_write_frame_list(FILE *f, const struct report_options *opts, const struct leakscan_frame *frames,
                                  size_t n, size_t top)
{
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_frame *fr = &frames[i];
                color(f, opts, i == top ? COLOR_TOP : fr->system ? COLOR_SYSTEM : COLOR_USER);
                fprintf(f, "    #%-2zu 0x%016" PRIx64 " ", i, fr->pc);
                text_string(f, fr->function ? fr->function : "??");
                if (fr->file) {
                        fputs(" (", f);
                        text_string(f, fr->file);
                        fprintf(f, ":%d)", fr->line);
                }
                if (fr->language) {
                        fprintf(f, " [%s]", fr->language);
                } else if (fr->module) {
                        fputs(" [", f);
                        text_string(f, basename_of(fr->module));
                        if (!fr->function)
                                fprintf(f, "+0x%" PRIx64, fr->offset);
                        fputc(']', f);
                }
                if (fr->inlined)
                        fprintf(f, " (inlined)");
                color(f, opts, COLOR_RESET);
                fputc('\n', f);
        }
}

/* The stop note of a group: its first thread's that has one, and how many
 * of the group were stopped so (grouped by stack, not by how they were read). */
static void text_write_stop_note(FILE *f, const struct report_group *g)
{
        const struct leakscan_thread *first = NULL;
        size_t k = 0;
        char note[REPORT_STOP_NOTE_MAX], subject[48];
        for (size_t i = 0; i < g->n; i++)
                if (report_stop_note(g->threads[i], note, sizeof note)) {
                        first = first ? first : g->threads[i];
                        k++;
                }
        if (!first)
                return;
        if (g->n > 1)
                snprintf(subject, sizeof subject, "%zu of these threads", k);
        else
                snprintf(subject, sizeof subject, "this thread");
        stop_note_of(first, subject, note, sizeof note);
        fputs("    ", f);
        text_string(f, note);
        fputc('\n', f);
}

/* pid mode: the notes of threads stopped inside a call a stop changes
 * that the groups above did not show (a thread idle, or ignored), so that
 * a user always learns which threads were disturbed: a line per note,
 * naming the threads that carry it (a pool stopped by --unwinder=fp is one
 * line, not one per worker). */
static void text_write_hidden_stop_notes(FILE *f, const struct leakscan_process *p, const struct report_options *opts)
{
        char note[REPORT_STOP_NOTE_MAX];
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
#define HIDDEN(u) (!(u)->leaked && !((u)->ignored_by ? opts->show_ignored : opts->all))
                if (!HIDDEN(t) || !report_stop_note(t, note, sizeof note))
                        continue;
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = HIDDEN(&p->threads[j]) && same_stop_note(&p->threads[j], t);
                if (seen)
                        continue;
                size_t n = 0;
                for (size_t j = i; j < p->n_threads; j++)
                        n += HIDDEN(&p->threads[j]) && same_stop_note(&p->threads[j], t);
                if (n == 1) {
                        fprintf(f, "thread %d (", (int) t->tid);
                        text_string(f, t->name);
                        fputs("): ", f);
                } else {
                        fprintf(f, "%zu threads (tids ", n);
                        size_t listed = 0;
                        for (size_t j = i; j < p->n_threads && listed < 8; j++)
                                if (HIDDEN(&p->threads[j]) && same_stop_note(&p->threads[j], t))
                                        fprintf(f, "%s%d", listed++ ? ", " : "", (int) p->threads[j].tid);
                        fputs(n > 8 ? ", ...): " : "): ", f);
                        stop_note_of(t, "each of them", note, sizeof note);
                }
#undef HIDDEN
                text_string(f, note);
                fputc('\n', f);
        }
}

/* "FUNC at FILE:LINE", or "MODULE+0xOFF", for the frame a person looks for. */
static void text_write_place(FILE *f, const struct leakscan_frame *fr)
{
        if (fr->function) {
                text_string(f, fr->function);
        } else {
                text_string(f, basename_of(fr->module));
                fprintf(f, "+0x%" PRIx64, fr->offset);
        }
        if (fr->file) {
                fputs(" at ", f);
                text_string(f, fr->file);
                fprintf(f, ":%d", fr->line);
        }
}

static void text_write_frames(FILE *f, const struct report_options *opts, const struct leakscan_thread *t)
{
        text_write_frame_list(f, opts, t->frames, t->n_frames, t->top_frame);
        if (t->unwind_note) {
                fputs("    (", f);
                text_string(f, t->unwind_note);
                fputs(")\n", f);
        }
        if (t->has_created_by && t->n_created_by > 0) {
                size_t top = t->created_by_top < t->n_created_by ? t->created_by_top : 0;
                fputs("  created by ", f);
                text_write_place(f, &t->created_by[top]);
                fputs(":\n", f);
                text_write_frame_list(f, opts, t->created_by, t->n_created_by, top);
        }
}

const struct leakscan_thread *report_thread_by_tid(const struct leakscan_process *p, pid_t tid)
{
        for (size_t i = 0; i < p->n_threads; i++)
                if (p->threads[i].tid == tid)
                        return &p->threads[i];
        return NULL;
}

const struct leakscan_frame *report_top_frame(const struct leakscan_thread *t, bool *ret_creator)
{
        bool creator = t->top_frame >= t->n_frames && t->has_created_by && t->created_by_top < t->n_created_by;
        if (ret_creator)
                *ret_creator = creator;
        if (creator)
                return &t->created_by[t->created_by_top];
        return t->top_frame < t->n_frames ? &t->frames[t->top_frame] : t->n_frames ? &t->frames[0] : NULL;
}

/* "mutex held_lock (file:line), owned by thread 12 "name"" */
static void text_write_wait(FILE *f, const struct leakscan_thread *t, const struct leakscan_process *p)
{
        const struct leakscan_wait_object *o = &t->object;
        text_string(f, o->kind);
        if (o->symbol) {
                fputc(' ', f);
                text_string(f, o->symbol);
        } else {
                fprintf(f, " at 0x%" PRIx64, o->address);
        }
        if (o->file) {
                fputs(" (", f);
                text_string(f, o->file);
                fprintf(f, ":%d)", o->line);
        }
        if (o->region == LEAKSCAN_REGION_STACK) {
                fprintf(f, " on the stack of thread %d", (int) o->stack_tid);
                if (o->stack_function) {
                        fputs(" in ", f);
                        text_string(f, o->stack_function);
                }
        } else if (o->region == LEAKSCAN_REGION_HEAP) {
                fputs(" (heap)", f);
        }
        if (t->has_count && t->state == LEAKSCAN_STATE_SEMAPHORE)
                fprintf(f, ", value %" PRId64, t->count);
        else if (t->has_count && t->state == LEAKSCAN_STATE_RWLOCK && t->count > 0)
                fprintf(f, ", held by %" PRId64 " reader%s", t->count, t->count == 1 ? "" : "s");
        pid_t other = t->owner_tid ? t->owner_tid : t->joined_tid;
        if (!other)
                return;
        const struct leakscan_thread *x = report_thread_by_tid(p, other);
        fprintf(f, ", %s thread %d", t->owner_tid ? "owned by" : "joining", (int) other);
        if (x) {
                fputs(" \"", f);
                text_string(f, x->name);
                fputc('"', f);
        } else
                fputs(", which has exited", f);
}

static void text_write_deadlocks(FILE *f, const struct leakscan_process *p)
{
        for (size_t c = 0; c < p->n_deadlocks; c++) {
                const struct leakscan_cycle *cy = &p->deadlocks[c];
                fputs("deadlock:", f);
                for (size_t i = 0; i < cy->n; i++) {
                        const struct leakscan_thread *t = report_thread_by_tid(p, cy->tids[i]);
                        if (!t)
                                continue;
                        fprintf(f, "%s thread %d \"", i ? " ->" : "", (int) t->tid);
                        text_string(f, t->name);
                        fputs("\" -> ", f);
                        if (t->has_object) {
                                text_string(f, t->object.kind);
                                if (t->object.symbol) {
                                        fputc(' ', f);
                                        text_string(f, t->object.symbol);
                                }
                        } else {
                                fputs(leakscan_state_to_string(t->state), f);
                        }
                        fprintf(f, " (%s %d)", t->owner_tid ? "owned by" : "joining",
                                (int) (t->owner_tid ? t->owner_tid : t->joined_tid));
                }
                fputc('\n', f);
        }
        if (p->n_deadlocks)
                fputc('\n', f);
}

/* " leaked by test Suite.Name (file.cpp:18)" */
static void text_write_test(FILE *f, const struct leakscan_thread *t)
{
        const struct leakscan_test *test = t->test;
        if (!test)
                return;
        fprintf(f, ", %s test ", t->leaked ? "leaked by" : "started by");
        text_string(f, test->name);
        char place[512] = "";
        if (test->file && test->line > 0)
                snprintf(place, sizeof place, "%s:%d", basename_of(test->file), test->line);
        else if (test->file)
                snprintf(place, sizeof place, "%s", basename_of(test->file));
        if (*place && !streq(place, test->name)) {     /* Catch2, doctest: named by place */
                fputs(" (", f);
                text_string(f, place);
                fputc(')', f);
        }
}

void report_text_group(FILE *f, const struct report_options *opts, const struct report_group *g,
                       const struct leakscan_process *p)
{
        const struct leakscan_thread *const *group = g->threads;
        size_t n = g->n;
        const struct leakscan_thread *t = group[0];
        int64_t lo = t->blocked_ms, hi = t->blocked_ms;
        bool same_name = true;
        for (size_t i = 1; i < n; i++) {
                if (group[i]->blocked_ms < lo)
                        lo = group[i]->blocked_ms;
                if (group[i]->blocked_ms > hi)
                        hi = group[i]->blocked_ms;
                if (!streq(group[i]->name, t->name))
                        same_name = false;
        }

        if (n == 1) {
                fprintf(f, "Thread %d \"", (int) t->tid);
                text_string(f, t->name);
                fprintf(f, "\"%s in state %s", t->main ? " (main)" : "", leakscan_state_to_string(t->state));
        } else {
                fprintf(f, "%zu threads in state %s", n, leakscan_state_to_string(t->state));
        }
        if (t->syscall && t->state == LEAKSCAN_STATE_SYSCALL) {
                fputs(" (", f);
                text_string(f, t->syscall);
                fputc(')', f);
        }
        switch (t->verdict) {
        case LEAKSCAN_VERDICT_RUNNING:
                if (t->state != LEAKSCAN_STATE_RUNNING)
                        fprintf(f, ", running");
                break;
        case LEAKSCAN_VERDICT_TIMED:
                fprintf(f, ", in a wait with a timeout");
                break;
        default:
                if (lo < 0) {
                        fprintf(f, ", blocked");
                } else {
                        char a[32], b[32];
                        format_duration(a, sizeof a, lo);
                        format_duration(b, sizeof b, hi);
                        if (streq(a, b))
                                fprintf(f, ", blocked %s", a);
                        else
                                fprintf(f, ", blocked %s-%s", a, b);
                }
                if (t->verdict == LEAKSCAN_VERDICT_DEADLOCK)
                        fprintf(f, ", deadlocked");
                else if (t->verdict == LEAKSCAN_VERDICT_ORPHANED)
                        fprintf(f, ", orphaned");
                else if (t->verdict == LEAKSCAN_VERDICT_UNREACHABLE)
                        fprintf(f, ", unreachable");
        }
        text_write_test(f, t);
        const struct leakscan_frame *top = t->top_frame < t->n_frames ? &t->frames[t->top_frame] : NULL;
        if (t->exiting)
                fprintf(f, " (calling exit)");
        if (top && (top->function || top->module)) {
                fputs(", with ", f);
                color(f, opts, COLOR_TOP);
                if (top->function) {
                        text_string(f, top->function);
                } else {        /* no symbols: where it is, at least */
                        text_string(f, top->module ? basename_of(top->module) : "?");
                        fprintf(f, "+0x%" PRIx64, top->offset);
                }
                color(f, opts, COLOR_RESET);
                fprintf(f, " on top of the stack:");
        } else {
                fputc(':', f);
        }
        if (n > 1) {
                /* (tids 1201-1264, "handler"): a range when they follow each other */
                bool range = true;
                for (size_t i = 1; i < n; i++)
                        range &= group[i]->tid == group[i - 1]->tid + 1;
                if (range)
                        fprintf(f, " (tids %d-%d", (int) group[0]->tid, (int) group[n - 1]->tid);
                else {
                        fputs(" (tids ", f);
                        for (size_t i = 0; i < n && i < 8; i++)
                                fprintf(f, "%s%d", i ? ", " : "", (int) group[i]->tid);
                        if (n > 8)
                                fputs(", ...", f);
                }
                if (same_name) {
                        fputs(", \"", f);
                        text_string(f, t->name);
                        fputc('"', f);
                }
                fputc(')', f);
        }
        fputc('\n', f);
        if (t->ignored_by) {
                fputs("    ignored by ", f);
                text_string(f, t->ignored_by);
                fputc('\n', f);
        }
        if (t->held_call && strncmp(t->held_call, "SIG", 3) == 0) {
                fputs("    held at exit: ", f);      /* a signal, not a call */
                text_string(f, t->held_call);
                fputc('\n', f);
        } else if (t->held_call) {
                fputs("    held at exit: attempted ", f);
                text_string(f, t->held_call);
                fputs(" after the process began to exit; never made\n", f);
        }
        text_write_stop_note(f, g);
        if (t->fd_target) {
                fprintf(f, "    waiting on fd %d -> ", t->wait_fd);
                text_string(f, t->fd_target);
                if (t->peer) {
                        fputs(": ", f);
                        text_string(f, t->peer);
                }
                fputc('\n', f);
        }
        bool same_object = t->has_object;
        for (size_t i = 1; i < n; i++)
                same_object &= group[i]->has_object && group[i]->object.address == t->object.address;
        bool same_region = t->has_object;
        for (size_t i = 1; i < n; i++)
                same_region &= group[i]->has_object && group[i]->object.region == t->object.region;
        if (same_object) {
                fputs("    waits for ", f);
                text_write_wait(f, t, p);
                fputc('\n', f);
        } else if (same_region) {
                fputs("    each waits for a ", f);
                text_string(f, t->object.kind);
                fprintf(f, " of its own%s\n", t->object.region == LEAKSCAN_REGION_HEAP ? " on the heap" :
                        t->object.region == LEAKSCAN_REGION_STACK ? " on a stack" : "");
        }
        if (t->verdict == LEAKSCAN_VERDICT_UNREACHABLE)
                fprintf(f, "    nothing that can still run points to %s: no thread, global or kernel buffer "
                        "can reach %s to end the wait\n", n > 1 ? "them" : "it", n > 1 ? "them" : "it");
        text_write_frames(f, opts, t);
        fputc('\n', f);
}

void report_text_thread(FILE *f, const struct leakscan_thread *t, const struct leakscan_process *p)
{
        const struct leakscan_thread *one[1] = { t };
        struct report_group g = { .threads = one, .n = 1 };
        struct report_options opts = {0};
        report_text_group(f, &opts, &g, p);
}

static int verdict_rank(enum leakscan_verdict v)
{
        switch (v) {
        case LEAKSCAN_VERDICT_DEADLOCK: return 0;
        case LEAKSCAN_VERDICT_ORPHANED: return 1;
        case LEAKSCAN_VERDICT_UNREACHABLE: return 2;
        case LEAKSCAN_VERDICT_BLOCKED: return 3;
        case LEAKSCAN_VERDICT_IDLE: return 4;
        case LEAKSCAN_VERDICT_TIMED: return 5;
        default: return 6;
        }
}

static int group_cmp(const void *a, const void *b)
{
        const struct report_group *x = a, *y = b;
        if (x->section != y->section)
                return x->section - y->section;
        if (x->rank != y->rank)
                return x->rank - y->rank;
        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return x->first < y->first ? -1 : x->first > y->first;
}

int report_groups_make(const struct leakscan_process *p, bool all, bool show_ignored, struct report_groups *ret)
{
        size_t n = p->n_threads, n_groups = 0, used = 0;
        const struct leakscan_thread **members = malloc((n ? n : 1) * sizeof *members);
        struct report_group *groups = malloc((n ? n : 1) * sizeof *groups);
        bool *done = calloc(n ? n : 1, sizeof *done);
        if (!members || !groups || !done) {
                free(members);
                free(groups);
                free(done);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                int section = t->leaked ? 0 : t->ignored_by ? 1 : 2;
                if (done[i] || (section == 1 && !show_ignored) || (section == 2 && !all))
                        continue;
                struct report_group *g = &groups[n_groups++];
                *g = (struct report_group) { members + used, 0, section, verdict_rank(t->verdict), i };
                for (size_t k = i; k < n; k++)
                        if (!done[k] && same_group(t, &p->threads[k])) {
                                g->threads[g->n++] = &p->threads[k];
                                done[k] = true;
                        }
                used += g->n;
        }
        free(done);
        qsort(groups, n_groups, sizeof *groups, group_cmp);
        *ret = (struct report_groups) { groups, n_groups, members };
        return 0;
}

void report_groups_done(struct report_groups *g)
{
        free(g->groups);
        free(g->members);
        *g = (struct report_groups) {0};
}

/* Groups of identical stacks, leaked first, then ignored and the rest
 * under their headings. */
static int text_write_groups(FILE *f, const struct leakscan_process *p, const struct report_options *opts)
{
        struct report_groups gs;
        int r = report_groups_make(p, opts->all, opts->show_ignored, &gs);
        if (r < 0)
                return r;
        static const char *const headings[] = { "", "Ignored threads:", "Other threads:" };
        for (size_t i = 0; i < gs.n; i++) {
                if (gs.groups[i].section && (i == 0 || gs.groups[i - 1].section != gs.groups[i].section))
                        fprintf(f, "%s\n\n", headings[gs.groups[i].section]);
                report_text_group(f, opts, &gs.groups[i], p);
        }
        report_groups_done(&gs);
        return 0;
}

/* pid mode's closing line for the threads the judge found idle, not leaked,
 * that --idle could list (the main thread never is):
 * "12 threads idle in 3 groups (--idle to list them)". */
static void text_write_idle_summary(FILE *f, const struct leakscan_process *p)
{
        size_t idle = 0, groups = 0;
        for (size_t i = 0; i < p->n_threads; i++) {
                const struct leakscan_thread *t = &p->threads[i];
                if (t->verdict != LEAKSCAN_VERDICT_IDLE || t->leaked || t->ignored_by || t->main)
                        continue;
                idle++;
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++) {
                        const struct leakscan_thread *u = &p->threads[j];
                        seen = u->verdict == LEAKSCAN_VERDICT_IDLE && !u->leaked && !u->ignored_by &&
                               !u->main && same_group(t, u);
                }
                groups += !seen;
        }
        if (idle)
                fprintf(f, "%zu thread%s idle in %zu group%s (--idle to list them)\n", idle, idle == 1 ? "" : "s",
                        groups, groups == 1 ? "" : "s");
}

/* "leakscan: could not check everything in process N: WHY", on its own
 * line: said whatever else the report says. */
static void text_write_inspect_error(FILE *f, const struct leakscan_process *p)
{
        if (!p->inspect_error)
                return;
        fprintf(f, "leakscan: process %d (", (int) p->pid);
        text_string(f, p->exe ? p->exe : "?");
        fputs(") could not be fully checked: ", f);
        text_string(f, p->inspect_error);
        fputc('\n', f);
}

int report_text_process(FILE *f, const char *mode, const struct leakscan_process *p,
                        const struct report_options *opts)
{
        text_write_inspect_error(f, p);
        size_t leaked = 0;
        for (size_t i = 0; i < p->n_threads; i++)
                leaked += p->threads[i].leaked;
        _cleanup_free_ char *exe = text_string_dup(p->exe ? p->exe : "?");
        if (!exe)
                return -ENOMEM;
        char when[96] = "";
        if (streq(mode, "at-exit") && p->has_exit && p->exit_signal)
                snprintf(when, sizeof when, " when it was killed by signal %d", p->exit_signal);
        else if (streq(mode, "at-exit"))
                snprintf(when, sizeof when, " when it exited");
        else if (streq(mode, "timeout"))
                snprintf(when, sizeof when, " still running at the --timeout");

        if (p->not_inspected) {
                /* at exit, quiet unless something is wrong: a crash is */
                if (p->exit_signal)
                        fprintf(f, "leakscan: process %d (%s) was killed by signal %d (%s): its threads "
                                "could not be checked\n", (int) p->pid, exe, p->exit_signal, strsignal(p->exit_signal));
                else if (opts->all)
                        fprintf(f, "leakscan: process %d (%s) ended when its last thread did: no thread left\n",
                                (int) p->pid, exe);
                return 0;
        }
        if (leaked == 0 && !streq(mode, "pid") && !opts->all && !opts->show_ignored)
                return 0;       /* a test that passes prints nothing */
        if (leaked == 0)
                fprintf(f, "leakscan: no unexpected threads in process %d (%s)%s: %zu thread%s checked\n",
                        (int) p->pid, exe, when, p->n_threads, p->n_threads == 1 ? "" : "s");
        else
                fprintf(f, "leakscan: found %zu unexpected thread%s in process %d (%s)%s\n",
                        leaked, leaked == 1 ? "" : "s", (int) p->pid, exe, when);
        size_t ignored = 0;
        for (size_t i = 0; i < p->n_threads; i++)
                ignored += p->threads[i].ignored_by != NULL;
        if (leaked == 0 && !opts->all && !opts->show_ignored) {
                if (ignored)
                        fprintf(f, "%zu thread%s ignored (use --show-ignored)\n", ignored, ignored == 1 ? "" : "s");
                text_write_idle_summary(f, p);
                text_write_hidden_stop_notes(f, p, opts);
                return 0;
        }
        fputc('\n', f);
        text_write_deadlocks(f, p);

        int r = text_write_groups(f, p, opts);
        if (r < 0)
                return r;
        if (ignored && !opts->show_ignored)
                fprintf(f, "%zu thread%s ignored (use --show-ignored)\n", ignored, ignored == 1 ? "" : "s");
        if (!opts->all)
                text_write_idle_summary(f, p);
        text_write_hidden_stop_notes(f, p, opts);
        if (p->n_vanished)
                fprintf(f, "(%zu thread%s exited during the snapshot)\n", p->n_vanished,
                        p->n_vanished == 1 ? "" : "s");
        if (p->incomplete)
                fputs("(threads kept being created while the others were stopped: some of the newest may be missing)\n", f);
        return 0;
}

static int text_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        for (size_t i = 0; i < report->n_processes; i++) {
                int r = report_text_process(f, report->mode, &report->processes[i], opts);
                if (r < 0)
                        return r;
        }
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_text = { .name = "text", .write = text_write };

/* ---- JSON ---- */

static void json_hex(FILE *f, uint64_t v)
{
        /* by hand: two per frame, and fprintf parses its format each time */
        char buf[24], *p = buf + sizeof buf;
        *--p = '"';
        do {
                *--p = "0123456789abcdef"[v & 15];
                v >>= 4;
        } while (v);
        *--p = 'x';
        *--p = '0';
        *--p = '"';
        fwrite(p, 1, (size_t) (buf + sizeof buf - p), f);
}

/* ", "KEY": VALUE" or ", "KEY": null" */
static void json_int_or_null(FILE *f, const char *key, bool present, long long value)
{
        if (present)
                fprintf(f, ", \"%s\": %lld", key, value);
        else
                fprintf(f, ", \"%s\": null", key);
}

static void json_frame(FILE *f, const struct leakscan_frame *fr)
{
        fputs("{\"pc\": ", f);
        json_hex(f, fr->pc);
        fputs(", \"function\": ", f);
        json_string(f, fr->function);
        fputs(", \"file\": ", f);
        json_string(f, fr->file);
        json_int_or_null(f, "line", fr->file, fr->line);
        fputs(", \"module\": ", f);
        json_string(f, fr->module);
        fputs(", \"offset\": ", f);
        json_hex(f, fr->offset);
        fprintf(f, ", \"inlined\": %s, \"system\": %s", fr->inlined ? "true" : "false",
                fr->system ? "true" : "false");
        if (fr->language) {
                fputs(", \"language\": ", f);
                json_string(f, fr->language);
        }
        fputc('}', f);
}

static void json_frames(FILE *f, const struct leakscan_frame *frames, size_t n)
{
        fputc('[', f);
        for (size_t i = 0; i < n; i++) {
                fputs(i ? ",\n            " : "\n            ", f);
                json_frame(f, &frames[i]);
        }
        fputc(']', f);
}

void report_json_thread(FILE *f, const struct leakscan_thread *t)
{
        fprintf(f, "{\"tid\": %d, \"name\": ", (int) t->tid);
        json_string(f, t->name);
        fprintf(f, ", \"main\": %s, \"proc_state\": \"%c\", \"state\": \"%s\", \"syscall\": ",
                t->main ? "true" : "false", t->proc_state ? t->proc_state : '?',
                leakscan_state_to_string(t->state));
        json_string(f, t->syscall);
        fprintf(f, ", \"timeout\": %s", t->timeout ? "true" : "false");
        json_int_or_null(f, "blocked_ms", t->blocked_ms >= 0, t->blocked_ms);
        fprintf(f, ", \"verdict\": \"%s\", \"leaked\": %s, \"wait\": {\"address\": ",
                leakscan_verdict_to_string(t->verdict), t->leaked ? "true" : "false");
        if (t->has_wait_address)
                json_hex(f, t->wait_address);
        else
                fputs("null", f);
        json_int_or_null(f, "futex_value", t->has_futex_value, t->futex_value);
        json_int_or_null(f, "fd", t->wait_fd >= 0, t->wait_fd);
        fputs(", \"fd_target\": ", f);
        json_string(f, t->fd_target);
        fputs(", \"object\": ", f);
        if (t->has_object) {
                const struct leakscan_wait_object *o = &t->object;
                fprintf(f, "{\"kind\": \"%s\", \"address\": ", o->kind);
                json_hex(f, o->address);
                fputs(", \"symbol\": ", f);
                json_string(f, o->symbol);
                fputs(", \"file\": ", f);
                json_string(f, o->file);
                json_int_or_null(f, "line", o->file, o->line);
                fprintf(f, ", \"region\": \"%s\"", leakscan_region_to_string(o->region));
                json_int_or_null(f, "stack_tid", o->region == LEAKSCAN_REGION_STACK, o->stack_tid);
                fputs(", \"stack_function\": ", f);
                json_string(f, o->stack_function);
                fputs("}", f);
        } else {
                fputs("null", f);
        }
        json_int_or_null(f, "owner_tid", t->owner_tid, t->owner_tid);
        fprintf(f, ", \"owner_gone\": %s", t->owner_gone ? "true" : "false");
        json_int_or_null(f, "joined_tid", t->joined_tid, t->joined_tid);
        json_int_or_null(f, "count", t->has_count, t->count);
        fputs(", \"peer\": ", f);
        json_string(f, t->peer);
        json_int_or_null(f, "peer_pid", t->peer_pid, t->peer_pid);
        fputs("}", f);
        json_int_or_null(f, "top_frame", t->top_frame < t->n_frames, (long long) t->top_frame);
        fputs(", \"unwind_note\": ", f);
        json_string(f, t->unwind_note);
        fprintf(f, ", \"exiting\": %s, \"ignored_by\": ", t->exiting ? "true" : "false");
        json_string(f, t->ignored_by);
        fputs(", \"test\": ", f);
        if (t->test) {
                fputs("{\"framework\": ", f);
                json_string(f, t->test->framework);
                fputs(", \"name\": ", f);
                json_string(f, t->test->name);
                fputs(", \"file\": ", f);
                json_string(f, t->test->file);
                json_int_or_null(f, "line", t->test->line > 0, t->test->line);
                fputs("}", f);
        } else {
                fputs("null", f);
        }
        fprintf(f, ", \"reach\": \"%s\", \"reach_note\": ", leakscan_reach_to_string(t->reach));
        json_string(f, t->reach_note);
        fputs(", \"held_call\": ", f);
        json_string(f, t->held_call);
        fprintf(f, ", \"read\": \"%s\"", report_read_name(t->read));
        json_int_or_null(f, "stopped_us", t->read == LEAKSCAN_READ_STOPPED && t->stopped_us >= 0, t->stopped_us);
        char note[REPORT_STOP_NOTE_MAX];
        fputs(", \"stop_note\": ", f);
        json_string(f, report_stop_note(t, note, sizeof note));
        fputs(",\n          \"frames\": ", f);
        json_frames(f, t->frames, t->n_frames);
        fputs(",\n          \"created_by\": ", f);
        if (t->has_created_by)
                json_frames(f, t->created_by, t->n_created_by);
        else
                fputs("null", f);
        fputs("}", f);
}

static int json_write(FILE *f, const struct leakscan_report *report, const struct report_options *opts)
{
        /* JSON always holds every thread, with "leaked" */
        size_t threads = 0;
        fprintf(f, "{\"schema\": \"%s\", \"mode\": ", LEAKSCAN_SCHEMA);
        json_string(f, report->mode);
        fputs(",\n  \"processes\": [", f);
        for (size_t i = 0; i < report->n_processes; i++) {
                const struct leakscan_process *p = &report->processes[i];
                threads += p->n_threads;
                fprintf(f, "%s{\"pid\": %d, \"exe\": ", i ? ", " : "", (int) p->pid);
                json_string(f, p->exe);
                fputs(", \"cmdline\": [", f);
                for (size_t k = 0; k < p->n_cmdline; k++) {
                        if (k)
                                fputs(", ", f);
                        json_string(f, p->cmdline[k]);
                }
                fprintf(f, "], \"vanished_threads\": %zu, \"incomplete\": %s, \"stopped_us\": %" PRIu64 ", \"exit\": ",
                        p->n_vanished, p->incomplete ? "true" : "false", p->stopped_us);
                if (!p->has_exit)
                        fputs("null", f);
                else if (p->exit_signal)
                        fprintf(f, "{\"signal\": %d}", p->exit_signal);
                else
                        fprintf(f, "{\"code\": %d}", p->exit_code);
                fprintf(f, ", \"inspected\": %s, \"inspect_error\": ", p->not_inspected ? "false" : "true");
                json_string(f, p->inspect_error);
                json_int_or_null(f, "exit_stop_us", p->has_exit_stop, (long long) p->exit_stop_us);
                fputs(",\n      \"threads\": [", f);
                for (size_t k = 0; k < p->n_threads; k++) {
                        fputs(k ? ",\n        " : "\n        ", f);
                        report_json_thread(f, &p->threads[k]);
                }
                fputs("],\n      \"deadlocks\": [", f);
                for (size_t c = 0; c < p->n_deadlocks; c++) {
                        fputs(c ? ", [" : "[", f);
                        for (size_t k = 0; k < p->deadlocks[c].n; k++)
                                fprintf(f, "%s%d", k ? ", " : "", (int) p->deadlocks[c].tids[k]);
                        fputs("]", f);
                }
                fputs("]}", f);
        }
        fputs("]", f);
        if (opts && opts->suppressions) {
                fputs(",\n  \"suppressions\": ", f);
                int r = json_write_suppressions(f, report);
                if (r < 0)
                        return r;
        }
        fprintf(f, ",\n  \"summary\": {\"processes\": %zu, \"threads\": %zu, \"leaked\": %zu}}\n",
                report->n_processes, threads, report_count_leaked(report));
        return ferror(f) ? -EIO : 0;
}

const struct report_backend report_json = { .name = "json", .write = json_write };

static const struct report_backend *const backends[] = {
        &report_text, &report_json, &report_sarif, &report_junit, &report_dot, &report_prometheus,
        &report_pprof,
};

const struct report_backend *report_backend_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
                if (streq(backends[i]->name, name))
                        return backends[i];
        return NULL;
}

size_t report_backend_count(void)
{
        return ARRAY_SIZE(backends);
}

const struct report_backend *report_backend_at(size_t i)
{
        return i < ARRAY_SIZE(backends) ? backends[i] : NULL;
}
