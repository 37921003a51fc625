/* Rules: the judge's ignore list.  A thread that a rule matches stays in
 * the report, marked with the rule and where it came from, but is not a
 * leak.
 *
 * Rules come from the command line (--ignore-top=FUNC ...), suppressions
 * files ("KIND:PATTERN[ in MODULE]" per line) and a built-in list of the
 * runtimes whose own helper threads live as long as the process (OpenMP,
 * OpenBLAS, GLib, libuv, jemalloc, glibc, gRPC, TBB, the JVM, CUDA, Go).  Patterns are
 * shell globs on demangled names.
 *
 * A built-in rule ("runtime:ID") ignores a thread only while it is idle
 * inside that runtime: its entry function is the runtime's, every frame
 * between the wait and that entry is the runtime's or the C library's (no
 * user frame: a user callback that blocks is judged), and, when the creator
 * stack is known, the thread was not made by user code through the
 * runtime's API for threads the caller owns (g_thread_new, a GThreadPool
 * of the user's).  A runtime is recognised by its library's file name or by
 * its symbols, so that a statically linked copy counts; never by the
 * thread's name, which any thread can take. */
#ifndef LEAKSCAN_RULES_H
#define LEAKSCAN_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "leakscan/leakscan.h"

enum rule_kind {
        RULE_TOP,               /* the function on top of the stack */
        RULE_ANY,               /* a function anywhere in the stack */
        RULE_CREATED_BY,        /* a function anywhere in the creator stack */
        RULE_NAME,              /* the thread's name */
        RULE_MODULE,            /* a frame in a library (glob on path or file name) */
        RULE_ENTRY,             /* the thread's entry function (the frame below
                                 * start_thread) */
        RULE_RUNTIME,           /* a built-in runtime's thread, idle inside it */
        _RULE_KIND_MAX,
};

struct rule {
        enum rule_kind kind;
        char *pattern;
        char *module;           /* "... in MODULE": the matching frame (for
                                 * RULE_NAME, some frame) must be in this
                                 * library (glob on file name or path) */
        char *origin;           /* "--ignore-top", "FILE:LINE", "default: OpenMP" */
        const struct runtime *runtime;  /* RULE_RUNTIME: the built-in entry */
};

struct rule_set {
        struct rule *rules;
        size_t n;
        size_t cap;
};

void rule_set_done(struct rule_set *set);

/* Adds a rule (copies the strings).  Returns 0 or -ENOMEM. */
int rules_add(struct rule_set *set, enum rule_kind kind, const char *pattern, const char *module,
              const char *origin);

/* Parses "KIND:PATTERN" (top, any, created-by, name, module, entry,
 * runtime).  Returns 0, or -EINVAL with *ret_error (static text) saying what
 * is wrong. */
int rules_parse(const char *text, enum rule_kind *ret_kind, const char **ret_pattern, const char **ret_error);

/* Adds the rule of one suppressions line (already stripped of comments
 * and surrounding blanks): "KIND:PATTERN", optionally followed by
 * " in MODULE" (a space before "in" that is part of the pattern is written
 * "\ ").  Returns 0, -ENOMEM, or -EINVAL with *ret_error (static text). */
int rules_add_line(struct rule_set *set, const char *line, const char *origin, const char **ret_error);

/* Loads a suppressions file: one rule per line, blank lines, and comments
 * from a '#' at the start of a line or after a blank to the end of the line
 * (a '#' inside a word, as in "{lambda()#1}", is part of it).  Returns 0;
 * or a negative errno with *ret_error a new message naming the file and
 * line (owned by the caller). */
int rules_load_file(struct rule_set *set, const char *path, char **ret_error);

/* Loads the suppressions files that LEAKSCAN_SUPPRESSIONS names, separated
 * by colons (none when it is unset or empty).  Returns 0, or a negative
 * errno with *ret_error a new message that says it came from there. */
int rules_load_env(struct rule_set *set, char **ret_error);

/* The same on text already in memory (of len bytes: a NUL byte before the
 * end is an error naming its line); name is used in messages and origins. */
int rules_load_text(struct rule_set *set, const char *name, const char *text, size_t len, char **ret_error);

/* Adds the built-in ignores for runtime thread pools.  Returns 0 or -ENOMEM. */
int rules_add_defaults(struct rule_set *set);

/* Writes the built-in list, one entry a line: each line, as it is, is a
 * suppressions line with the same meaning ("runtime:ID"), followed by a
 * comment saying what it matches and why. */
void rules_print_defaults(FILE *f);

/* The first rule that matches thread t, or NULL. */
const struct rule *rules_match(const struct rule_set *set, const struct leakscan_thread *t);

/* The rule in words with its origin, as the report gives it ("top:f
 * (--ignore-top)"): a new string, or NULL on -ENOMEM. */
char *rules_describe(const struct rule *r);

/* The suppressions line that would ignore a thread like t, in a new
 * string: its top function, else the module of its top frame, else its name;
 * NULL when nothing names it.  The name is escaped to match itself as a glob
 * ('*', '?', '[', '\\', a '#' after a blank, a blank before "in " or at the
 * end); a control character other than a tab becomes '?'. */
char *rules_suggest(const struct leakscan_thread *t);

const char *rule_kind_to_string(enum rule_kind kind);

#endif
