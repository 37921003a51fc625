/* Rules: the judge's ignore list.  A thread that a rule matches stays in
 * the report, marked with the rule and where it came from, but is not a
 * leak.
 *
 * Rules come from the command line (--ignore-top=FUNC ...), suppressions
 * files ("top:FUNC" per line) and a built-in list of the long-lived pool
 * threads of common runtimes (OpenMP, OpenBLAS, GLib, libuv, jemalloc,
 * glibc, gRPC, CUDA).  Patterns are shell globs on demangled names; the
 * built-in entries also require the runtime's library, so that a user's
 * thread that happens to share a name is still judged. */
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
        RULE_ENTRY,             /* built-in only: the thread's entry function (the
                                 * frame below start_thread) is in a library */
        _RULE_KIND_MAX,
};

struct rule {
        enum rule_kind kind;
        char *pattern;
        char *module;           /* built-in rules: the frame (or, for RULE_NAME,
                                 * some frame) must be in this library */
        bool need_function;     /* RULE_ENTRY: a stripped library's nameless entry
                                 * frame does not match */
        char *origin;           /* "--ignore-top", "FILE:LINE", "default: OpenMP" */
};

struct rule_set {
        struct rule *rules;
        size_t n;
};

void rule_set_done(struct rule_set *set);

/* Adds a rule (copies the strings).  Returns 0 or -ENOMEM. */
int rules_add(struct rule_set *set, enum rule_kind kind, const char *pattern, const char *module,
              const char *origin);

/* Parses "KIND:PATTERN" (top, any, created-by, name, module).  Returns 0, or
 * -EINVAL with *ret_error (static text) saying what is wrong. */
int rules_parse(const char *text, enum rule_kind *ret_kind, const char **ret_pattern, const char **ret_error);

/* Loads a suppressions file: one rule per line, '#' comments, blank lines.
 * Returns 0; or a negative errno with *ret_error a new message naming the
 * file and line (owned by the caller). */
int rules_load_file(struct rule_set *set, const char *path, char **ret_error);

/* Adds the built-in ignores for runtime thread pools.  Returns 0 or -ENOMEM. */
int rules_add_defaults(struct rule_set *set);

/* Writes the built-in list, one documented entry a line. */
void rules_print_defaults(FILE *f);

/* The first rule that matches thread t, or NULL. */
const struct rule *rules_match(const struct rule_set *set, const struct leakscan_thread *t);

/* The rule in words with its origin, as the report gives it ("top:f
 * (--ignore-top)"): a new string, or NULL on -ENOMEM. */
char *rules_describe(const struct rule *r);

/* The "KIND:PATTERN" line that would ignore a thread like t, in a new
 * string: its top function, else the module of its top frame, else its name;
 * NULL when nothing names it. */
char *rules_suggest(const struct leakscan_thread *t);

const char *rule_kind_to_string(enum rule_kind kind);

#endif
