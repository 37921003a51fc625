/* Unit tests of --per-test's listing parsers, on listings as each framework
 * prints them (Boost.Test's tree, GoogleTest's parameterized names,
 * pytest's node ids). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "pertest.h"

/* The names parsed from text, joined with '|'. */
static char *parsed(const char *framework, const char *text)
{
        char *copy = strdup(text), **names = NULL, *joined = NULL;
        size_t n = 0, len = 0;
        CHECK_EQ_INT(pertest_parse_listing(framework, copy, &names, &n), 0);
        FILE *m = open_memstream(&joined, &len);
        for (size_t i = 0; i < n; i++) {
                fprintf(m, "%s%s", i ? "|" : "", names[i]);
                free(names[i]);
        }
        fclose(m);
        free(names);
        free(copy);
        return joined;
}

#define EXPECT(framework, text, want) do { \
        char *_got = parsed(framework, text); \
        CHECK_EQ_STR(_got, want); \
        free(_got); \
} while (0)

int main(void)
{
        EXPECT("googletest",
               "QueueTest.\n  Empty\n  Push\nInstance/ParamTest.  # TypeParam = int\n"
               "  Works/0  # GetParam() = 1\n  Works/1  # GetParam() = 2\nArithmetic.\n  Adds\n",
               "QueueTest.Empty|QueueTest.Push|Instance/ParamTest.Works/0|Instance/ParamTest.Works/1|Arithmetic.Adds");
        EXPECT("doctest",
               "[doctest] listing all test case names\n====\nqueue is empty\nqueue leaks, a flusher\n====\n"
               "[doctest] unskipped test cases passing the current filters: 2\n",
               "queue is empty|queue leaks, a flusher");
        EXPECT("catch2", "queue is empty\nqueue leaks, a flusher\n", "queue is empty|queue leaks, a flusher");
        EXPECT("boost.test",
               "queue_suite*\n    empty*\n    nested*\n        leaks*\n    push*\ntop_level*\n",
               "queue_suite/empty|queue_suite/nested/leaks|queue_suite/push|top_level");
        EXPECT("glib", "# random seed: R02S59c9\n1..2\n# Start of queue tests\n/queue/empty\n/queue/leaks\n"
               "# End of queue tests\n", "/queue/empty|/queue/leaks");
        /* pytest --collect-only --verbosity=-1: noise before, ids with
         * spaces, brackets and "::" in parameters, then the summary and a
         * warnings summary that names ids too */
        EXPECT("pytest",
               "conftest.py:3: UserWarning: loading\n  warnings.warn(\"loading\")\n"
               "tests/test_x.py::test_y[3-abc]\r\ntests/test_x.py::test_y[4-x y][]\n"
               "tests/test_x.py::test_y[5-a::b]\ntests/test_x.py::TestC::test_m\n\n"
               "=============================== warnings summary ===============================\n"
               "tests/test_x.py::test_y[3-abc]\n  tests/test_x.py:4: UserWarning: hello\n\n"
               "4 tests collected in 0.04s\n",
               "tests/test_x.py::test_y[3-abc]|tests/test_x.py::test_y[4-x y][]|tests/test_x.py::test_y[5-a::b]|"
               "tests/test_x.py::TestC::test_m");
        EXPECT("pytest", "\nno tests collected in 0.01s\n", "");
        EXPECT("googletest", "", "");
        char text[] = "x";
        char **names;
        size_t n;
        CHECK_EQ_INT(pertest_parse_listing("nunit", text, &names, &n), -EINVAL);
        return CHECK_DONE();
}
