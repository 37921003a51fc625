/* What the report backends share and nobody else needs: escaping for JSON,
 * XML and DOT that always yields valid UTF-8, the grouping of threads with
 * identical stacks, and the text of one process (which JUnit embeds).
 *
 * Names, paths and symbols come from the target and may hold any byte: a
 * byte that does not start a valid UTF-8 sequence is written as the four
 * characters \xNN, in every format, so that documents stay valid and the
 * byte can still be read back by a person. */
#ifndef LEAKSCAN_REPORT_COMMON_H
#define LEAKSCAN_REPORT_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/* Length of the valid UTF-8 sequence at s (1 to 4; its code point in
 * *ret_cp), or 0 when the byte at s starts none (overlong forms, surrogates
 * and code points past U+10FFFF are not valid).  s is NUL-terminated. */
size_t utf8_char(const char *s, uint32_t *ret_cp);

/* s for a person's terminal, in the text report and in the messages built
 * from it (SARIF's, JUnit's): every byte that is not part of a printable
 * character is written as \xNN, so that a name, path or symbol the target
 * chose cannot move the cursor, retitle or clear the screen, or fake a line
 * of the report: C0 controls (newline and tab too), DEL, C1 controls
 * (U+0080-U+009F, which terminals obey as ESC sequences), the characters
 * that reorder or break a line (bidirectional overrides and isolates,
 * U+2028, U+2029), and bytes that start no valid UTF-8 sequence.  Writes
 * nothing for NULL. */
void text_string(FILE *f, const char *s);

/* text_string into a new string (free it), or NULL when out of memory. */
char *text_string_dup(const char *s);

/* s as a JSON string with its quotes, or null for NULL. */
void json_string(FILE *f, const char *s);

/* Writes the suppression lines of the report's leaks as a JSON array of
 * strings.  Returns 0 or -ENOMEM. */
int json_write_suppressions(FILE *f, const struct leakscan_report *report);

/* The name of a way of reading a thread ("stop-free", "stopped", ...):
 * the JSON report's "read", from the one table of them. */
const char *report_read_name(enum leakscan_read read);

/* The note on a thread leakscan stopped inside a call whose outcome any
 * stop changes (t->stop_effect): "leakscan stopped this thread inside
 * write(): a write ... (see RELIABILITY.md, the syscall matrix)", in
 * buf.  Returns buf, or NULL when there is none. */
const char *report_stop_note(const struct leakscan_thread *t, char *buf, size_t size);
#define REPORT_STOP_NOTE_MAX 512

/* s as XML character data (also fit for an attribute value): markup
 * characters as entities; characters XML 1.0 forbids, and those
 * text_string escapes but tab, newline and carriage return, as \xNN. */
void xml_text(FILE *f, const char *s);

/* s inside a DOT double-quoted string (without the quotes). */
void dot_text(FILE *f, const char *s);

/* Threads that share state, verdict, stacks, wait relations, ignoredness
 * and test, as panicparse groups goroutines. */
struct report_group {
        const struct leakscan_thread **threads;
        size_t n;
        int section;            /* 0 leaked, 1 ignored, 2 the rest */
        int rank;               /* deadlock, orphaned, blocked, timed, running */
        size_t first;           /* index of its first thread: keeps the order stable */
};

struct report_groups {
        struct report_group *groups;
        size_t n;
        const struct leakscan_thread **members; /* storage of the groups' thread lists */
};

/* Groups the threads of p: the leaked ones, the ignored ones when
 * show_ignored, the others when all; sorted leaked first, then by verdict,
 * then by size.  Returns 0 or -ENOMEM; *ret (to release with
 * report_groups_done) written only on success. */
int report_groups_make(const struct leakscan_process *p, bool all, bool show_ignored, struct report_groups *ret);
void report_groups_done(struct report_groups *g);

/* The thread with that TID in p, or NULL. */
const struct leakscan_thread *report_thread_by_tid(const struct leakscan_process *p, pid_t tid);

/* The frame a finding about thread t points at, the one a person looks for
 * first: its top frame in the program's own code; when its stack has none
 * (it had not started its routine at the exit, or runs in libraries alone),
 * the top such frame of the stack that created it, the line that made it
 * (*ret_creator, when not NULL, says which); else its frame 0; NULL when
 * it has no frame at all. */
const struct leakscan_frame *report_top_frame(const struct leakscan_thread *t, bool *ret_creator);

/* The text report of one process, as the text backend writes it.  Returns 0
 * or a negative errno. */
int report_text_process(FILE *f, const char *mode, const struct leakscan_process *p,
                        const struct report_options *opts);

/* The text of one group, headline and stacks, as the text backend writes
 * it. */
void report_text_group(FILE *f, const struct report_options *opts, const struct report_group *g,
                       const struct leakscan_process *p);

/* The kinds of finding: a SARIF rule each (and a JUnit failure type).
 * Verdicts map onto them; blocked (at exit) and idle (-p --idle) are both
 * an indefinite wait, one rule. */
enum report_rule {
        REPORT_RULE_RUNNING,
        REPORT_RULE_TIMED,
        REPORT_RULE_LEAKED,
        REPORT_RULE_DEADLOCK,
        REPORT_RULE_ORPHANED,
        REPORT_RULE_UNREACHABLE,
        _REPORT_RULE_MAX,
};

/* The rule of a verdict. */
unsigned report_rule_of(enum leakscan_verdict v);

/* "leaked-thread", "deadlock", ...: a rule's id. */
const char *report_rule_name(unsigned rule);

/* The id of the rule of a verdict. */
const char *report_rule_id(enum leakscan_verdict v);

#endif
