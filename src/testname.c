/* Test names; see testname.h.
 *
 * One table, one row per framework.  A row finds the test's frame in one of
 * two ways: the function the framework generates for a test has a shape of
 * its own (GoogleTest's Suite_Name_Test::TestBody, Catch2's
 * CATCH2_INTERNAL_TEST_N), matched by a regular expression; or a plain
 * function is a test because the framework's runner calls it (GLib's
 * g_test_run_suite, Check's srunner_run_all), matched by the runner's name:
 * the test is the nearest frame of the user's inside the runner, past the
 * runner's own frames, which a library without debug info leaves unnamed
 * when they are static (GLib's test_case_run).  Shapes that ordinary code could have too (Boost's test_method)
 * also need a frame of the framework further out.  Names are built as the
 * framework prints them; frameworks that keep the name only in their
 * registry (Catch2, doctest) are named by file:line.  The file and line are
 * those of the frame in the test, i.e. the line of the test that started
 * the thread. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "testname.h"
#include "util.h"

struct framework {
        const char *framework;
        const char *pattern;            /* ERE on the test function's demangled name */
        const char *const *callers;     /* or: the user's function these runners call,
                                         * directly or through system frames */
        const char *confirm;            /* a frame further out must contain this, or NULL */
        /* Writes the test's name into *ret (new string) from the function
         * and the pattern's submatches.  Returns 0 or -ENOMEM. */
        int (*name)(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret);
};

static char *sub(const char *s, const regmatch_t *m)
{
        return strndup(s + m->rm_so, (size_t) (m->rm_eo - m->rm_so));
}

/* "Suite_Name" as GoogleTest and CppUTest paste it: split at the first '_'
 * (both advise against '_' in names, which would make it ambiguous). */
static int split_pasted(const char *function, const regmatch_t *m, const char *fmt, char **ret)
{
        _cleanup_free_ char *both = sub(function, m);
        if (!both)
                return -ENOMEM;
        char *us = strchr(both, '_');
        if (!us || us == both || !us[1])
                return asprintf(ret, "%s", both) < 0 ? -ENOMEM : 0;
        *us = '\0';
        return asprintf(ret, fmt, both, us + 1) < 0 ? -ENOMEM : 0;
}

static int name_gtest(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        return split_pasted(function, &m[2], "%s.%s", ret);
}

static int name_gtest_typed(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        _cleanup_free_ char *suite = sub(function, &m[3]), *test = sub(function, &m[4]);
        if (!suite || !test)
                return -ENOMEM;
        return asprintf(ret, "%s.%s", suite, test) < 0 ? -ENOMEM : 0;
}

static int name_cpputest(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        return split_pasted(function, &m[2], "TEST(%s, %s)", ret);
}

/* Catch2 and doctest: "tests.cpp:18", or the generated name without line
 * info. */
static int name_by_place(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) m;
        if (!fr->file)
                return asprintf(ret, "%s", function) < 0 ? -ENOMEM : 0;
        const char *base = strrchr(fr->file, '/') ? strrchr(fr->file, '/') + 1 : fr->file;
        return asprintf(ret, "%s:%d", base, fr->line) < 0 ? -ENOMEM : 0;
}

/* Boost.Test: "suite/case", from "suite::case::test_method()". */
static int name_boost(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) fr;
        _cleanup_free_ char *path = sub(function, &m[1]);
        if (!path)
                return -ENOMEM;
        char *out = malloc(strlen(path) + 1), *o = out;
        if (!out)
                return -ENOMEM;
        static const char anon[] = "(anonymous namespace)::";
        for (const char *s = path; *s; ) {
                if (startswith(s, anon))
                        s += sizeof anon - 1;
                else if (startswith(s, "::")) {
                        *o++ = '/';
                        s += 2;
                } else
                        *o++ = *s++;
        }
        *o = '\0';
        *ret = out;
        return 0;
}

/* The function's own name, without parameters. */
static int name_function(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        (void) m;
        (void) fr;
        *ret = strndup(function, strcspn(function, "("));
        return *ret ? 0 : -ENOMEM;
}

/* Check: START_TEST(name) defines name_fn (since 0.13; name before). */
static int name_check(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        int r = name_function(function, m, fr, ret);
        size_t len = r == 0 ? strlen(*ret) : 0;
        if (len > 3 && streq(*ret + len - 3, "_fn"))
                (*ret)[len - 3] = '\0';
        return r;
}

/* Criterion: Test(suite, name) defines suite_name_impl; printed
 * "suite::name". */
static int name_criterion(const char *function, const regmatch_t *m, const struct leakscan_frame *fr, char **ret)
{
        _cleanup_free_ char *plain = NULL;
        int r = name_function(function, m, fr, &plain);
        if (r < 0)
                return r;
        size_t len = strlen(plain);
        if (len > 5 && streq(plain + len - 5, "_impl"))
                plain[len - 5] = '\0';
        regmatch_t whole = { 0, (regoff_t) strlen(plain) };
        return split_pasted(plain, &whole, "%s::%s", ret);
}

static const char *const glib_callers[] = { "test_case_run", "g_test_run_suite", "g_test_run", NULL };
static const char *const check_callers[] = { "tcase_run_tfun_fork", "tcase_run_tfun_nofork", "srunner_run_all",
                                             "srunner_run", "srunner_run_tagged", NULL };
static const char *const cmocka_callers[] = { "cmocka_run_one_test_or_fixture", "_run_test", "_cmocka_run_group_tests",
                                              "_run_tests", NULL };
static const char *const criterion_callers[] = { "criterion_internal_test_main", NULL };
static const char *const unity_callers[] = { "UnityDefaultTestRun", NULL };

static const struct framework frameworks[] = {
        { "googletest", "^(.*::)?([A-Za-z0-9_]+)_Test::TestBody\\(\\)", NULL, "testing::", name_gtest },
        { "googletest", "^(.*::)?gtest_(suite|case)_([A-Za-z0-9_]+)_::([A-Za-z0-9_]+)<.*>::TestBody\\(\\)",
          NULL, "testing::", name_gtest_typed },
        { "catch2", "(CATCH2_INTERNAL_TEST_|____C_A_T_C_H____T_E_S_T____|C_A_T_C_H_T_E_S_T_)[0-9]+(::test)?\\(\\)",
          NULL, NULL, name_by_place },
        { "doctest", "DOCTEST_ANON_(FUNC|CLASS)_[0-9]+", NULL, NULL, name_by_place },
        { "boost.test", "^(.*[A-Za-z0-9_])::test_method\\(\\)", NULL, "boost::", name_boost },
        { "cpputest", "^(.*::)?TEST_([A-Za-z0-9_]+)_Test::testBody\\(\\)", NULL, NULL, name_cpputest },
        { "glib", NULL, glib_callers, NULL, name_function },
        { "check", NULL, check_callers, NULL, name_check },
        { "cmocka", NULL, cmocka_callers, NULL, name_function },
        { "criterion", NULL, criterion_callers, NULL, name_criterion },
        { "unity", NULL, unity_callers, NULL, name_function },
};

/* The compiled patterns, by row; compiled once. */
static regex_t compiled[ARRAY_SIZE(frameworks)];
static int compiled_state;      /* 0 not yet, 1 done, <0 -errno */

static int compile_patterns(void)
{
        if (compiled_state)
                return compiled_state < 0 ? compiled_state : 0;
        for (size_t i = 0; i < ARRAY_SIZE(frameworks); i++) {
                if (!frameworks[i].pattern)
                        continue;
                if (regcomp(&compiled[i], frameworks[i].pattern, REG_EXTENDED) != 0) {
                        compiled_state = -ENOMEM;       /* the table is ours: only memory can fail */
                        return compiled_state;
                }
        }
        compiled_state = 1;
        return 0;
}

/* Whether name (with or without parameters) is one of the callers. */
static bool is_caller(const char *name, const char *const *callers)
{
        size_t len = strcspn(name, "(");
        for (; *callers; callers++)
                if (strlen(*callers) == len && strncmp(name, *callers, len) == 0)
                        return true;
        return false;
}

/* Whether c, a frame inside the runner frame, belongs to the runner: a
 * system frame, another runner function, or an unnamed frame of the
 * runner's library (its static functions, without debug info). */
static bool runner_frame(const struct leakscan_frame *c, const struct leakscan_frame *runner,
                         const char *const *callers)
{
        if (c->system)
                return true;
        if (c->function)
                return is_caller(c->function, callers);
        return c->module && runner->module && streq(c->module, runner->module);
}

static bool confirmed(const struct leakscan_frame *frames, size_t n, size_t from, const char *confirm)
{
        if (!confirm)
                return true;
        for (size_t i = from; i < n; i++)
                if (frames[i].function && strstr(frames[i].function, confirm))
                        return true;
        return false;
}

/* The first test frame of a row in frames, innermost first: 0 and *ret_test
 * set, 0 and NULL when none, or -ENOMEM. */
static int find_in(const struct leakscan_frame *frames, size_t n, struct leakscan_test **ret_test)
{
        *ret_test = NULL;
        for (size_t i = 0; i < n; i++) {
                const struct leakscan_frame *fr = &frames[i];
                for (size_t k = 0; k < ARRAY_SIZE(frameworks); k++) {
                        const struct framework *fw = &frameworks[k];
                        const struct leakscan_frame *test_frame = NULL;
                        regmatch_t m[6] = {{0}};
                        if (fw->pattern) {
                                if (fr->function && regexec(&compiled[k], fr->function, ARRAY_SIZE(m), m, 0) == 0)
                                        test_frame = fr;
                        } else if (fr->function && is_caller(fr->function, fw->callers)) {
                                /* the nearest frame of the user's inside it */
                                for (size_t j = i; j-- > 0; ) {
                                        if (runner_frame(&frames[j], fr, fw->callers))
                                                continue;
                                        test_frame = frames[j].function ? &frames[j] : NULL;
                                        break;
                                }
                        }
                        if (!test_frame || !confirmed(frames, n, i + 1, fw->confirm))
                                continue;
                        struct leakscan_test *test = calloc(1, sizeof *test);
                        if (!test)
                                return -ENOMEM;
                        test->framework = fw->framework;
                        int r = fw->name(test_frame->function, m, test_frame, &test->name);
                        if (r == 0 && test_frame->file && !(test->file = strdup(test_frame->file)))
                                r = -ENOMEM;
                        if (r < 0) {
                                free(test->name);
                                free(test);
                                return r;
                        }
                        test->line = test_frame->file ? test_frame->line : 0;
                        *ret_test = test;
                        return 0;
                }
        }
        return 0;
}

int testname_recognise(struct leakscan_thread *t)
{
        int r = compile_patterns();
        if (r < 0 || t->test)
                return r;
        struct leakscan_test *test = NULL;
        if (t->has_created_by && t->n_created_by > 0)
                r = find_in(t->created_by, t->n_created_by, &test);
        else
                r = find_in(t->frames, t->n_frames, &test);
        if (r < 0)
                return r;
        t->test = test;
        return 0;
}
