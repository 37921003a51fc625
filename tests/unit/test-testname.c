/* Unit tests of testname: each framework's row on a hand-built creator
 * stack, the thread's own stack when no creator is known, and shapes that
 * must not be taken for tests. */
#include <stdlib.h>

#include "check.h"
#include "testname.h"

#define SYS(fn) { .function = (fn), .system = true }
#define USER(fn, l) { .function = (fn), .file = "/src/tests/t.cpp", .line = (l) }

/* The test recognised in creator stack frames (NULL: none), as
 * "framework name file:line". */
static char *recognise(struct leakscan_frame *frames, size_t n, bool as_creator)
{
        struct leakscan_thread t = { .tid = 2 };
        if (as_creator) {
                t.has_created_by = true;
                t.created_by = frames;
                t.n_created_by = n;
        } else {
                t.frames = frames;
                t.n_frames = n;
        }
        CHECK_EQ_INT(testname_recognise(&t), 0);
        if (!t.test)
                return NULL;
        char *s = NULL;
        if (asprintf(&s, "%s %s %s:%d", t.test->framework, t.test->name, t.test->file ? t.test->file : "-",
                     t.test->line) < 0)
                s = NULL;
        free(t.test->name);
        free(t.test->file);
        free(t.test);
        return s;
}

#define EXPECT(frames, as_creator, want) do { \
        char *_got = recognise(frames, sizeof(frames) / sizeof((frames)[0]), as_creator); \
        if (want) \
                CHECK_EQ_STR(_got ? _got : "(none)", (const char *) (want)); \
        else \
                CHECK(_got == NULL); \
        free(_got); \
} while (0)

int main(void)
{
        struct leakscan_frame gtest[] = {
                SYS("pthread_create"), USER("Flusher::start()", 19),
                USER("QueueTest_Leaky_Test::TestBody()", 76),
                SYS("void testing::internal::HandleExceptionsInMethodIfSupported<testing::Test, void>(testing::Test*, void (testing::Test::*)(), char const*)"),
                SYS("testing::Test::Run()"), SYS("main"),
        };
        EXPECT(gtest, true, "googletest QueueTest.Leaky /src/tests/t.cpp:76");
        /* the innermost test frame wins; a thread's own stack when no creator */
        EXPECT(gtest, false, "googletest QueueTest.Leaky /src/tests/t.cpp:76");

        struct leakscan_frame gtest_ns[] = {
                USER("ns::(anonymous namespace)::Param_Works_Test::TestBody()", 5), SYS("testing::Test::Run()"),
        };
        EXPECT(gtest_ns, true, "googletest Param.Works /src/tests/t.cpp:5");
        struct leakscan_frame gtest_typed[] = {
                USER("gtest_suite_TypedQueue_::Grows<int>::TestBody()", 9), SYS("testing::Test::Run()"),
        };
        EXPECT(gtest_typed, true, "googletest TypedQueue.Grows /src/tests/t.cpp:9");
        /* the same shape outside GoogleTest is no test */
        struct leakscan_frame not_gtest[] = { USER("Fake_Test::TestBody()", 3), SYS("main") };
        EXPECT(not_gtest, true, NULL);

        struct leakscan_frame catch2[] = {
                SYS("pthread_create"), USER("CATCH2_INTERNAL_TEST_4()", 31),
                SYS("Catch::TestInvokerAsFunction::invoke() const"),
        };
        EXPECT(catch2, true, "catch2 t.cpp:31 /src/tests/t.cpp:31");
        struct leakscan_frame catch2_v2[] = { USER("____C_A_T_C_H____T_E_S_T____0()", 12) };
        EXPECT(catch2_v2, true, "catch2 t.cpp:12 /src/tests/t.cpp:12");
        struct leakscan_frame doctest[] = { USER("_DOCTEST_ANON_FUNC_8()", 40), SYS("doctest::Context::run()") };
        EXPECT(doctest, true, "doctest t.cpp:40 /src/tests/t.cpp:40");

        struct leakscan_frame boost[] = {
                USER("queue_suite::pushes::test_method()", 22), USER("queue_suite::pushes_invoker()", 20),
                SYS("boost::detail::function::void_function_invoker0<void (*)(), void>::invoke(boost::detail::function::function_buffer&)"),
        };
        EXPECT(boost, true, "boost.test queue_suite/pushes /src/tests/t.cpp:22");
        struct leakscan_frame not_boost[] = { USER("Widget::test_method()", 8), SYS("main") };
        EXPECT(not_boost, true, NULL);

        struct leakscan_frame cpputest[] = {
                USER("TEST_Queue_Leaks_Test::testBody()", 14), SYS("Utest::run()"),
        };
        EXPECT(cpputest, true, "cpputest TEST(Queue, Leaks) /src/tests/t.cpp:14");

        /* runners that call a plain function */
        struct leakscan_frame glib[] = {
                SYS("pthread_create"), USER("start_worker", 10), USER("test_worker_leaks", 30),
                SYS("test_case_run"), SYS("g_test_run_suite_internal"),
        };
        EXPECT(glib, true, "glib test_worker_leaks /src/tests/t.cpp:30");
        /* libglib without debug info: its static frames unnamed, and not
         * taken for system frames */
        struct leakscan_frame glib_stripped[] = {
                SYS("pthread_create"), USER("start_flusher", 6), USER("test_queue_leaks", 8),
                { .module = "/lib/libglib-2.0.so.0" }, { .module = "/lib/libglib-2.0.so.0" },
                { .function = "g_test_run_suite", .module = "/lib/libglib-2.0.so.0" },
                { .function = "g_test_run", .module = "/lib/libglib-2.0.so.0" }, USER("main", 14),
        };
        EXPECT(glib_stripped, true, "glib test_queue_leaks /src/tests/t.cpp:8");
        struct leakscan_frame check_stripped[] = { USER("test_leaks_fn", 7), SYS(NULL), SYS("srunner_run_all") };
        EXPECT(check_stripped, true, "check test_leaks /src/tests/t.cpp:7");
        /* the first frame of the user's inside the runner must be named */
        struct leakscan_frame unnamed_user[] = { USER("helper", 2), { .file = "x.c" }, SYS("g_test_run") };
        EXPECT(unnamed_user, true, NULL);
        struct leakscan_frame check[] = { USER("test_leaks_fn", 7), SYS("tcase_run_tfun_fork"), SYS("srunner_run") };
        EXPECT(check, true, "check test_leaks /src/tests/t.cpp:7");
        struct leakscan_frame cmocka[] = {
                USER("leaks_a_thread", 3), SYS("cmocka_run_one_test_or_fixture"), SYS("_cmocka_run_group_tests"),
        };
        EXPECT(cmocka, true, "cmocka leaks_a_thread /src/tests/t.cpp:3");
        struct leakscan_frame criterion[] = { USER("queue_leaks_impl", 11), SYS("criterion_internal_test_main") };
        EXPECT(criterion, true, "criterion queue::leaks /src/tests/t.cpp:11");
        struct leakscan_frame unity[] = { USER("test_leaks", 18), SYS("UnityDefaultTestRun"), USER("main", 40) };
        EXPECT(unity, true, "unity test_leaks /src/tests/t.cpp:18");

        /* a caller row needs the callee to be the user's */
        struct leakscan_frame sys_callee[] = { SYS("g_thread_new"), SYS("test_case_run") };
        EXPECT(sys_callee, true, NULL);
        /* a plain program */
        struct leakscan_frame plain[] = { SYS("pthread_create"), USER("start_reader", 19), USER("main", 26) };
        EXPECT(plain, true, NULL);
        return CHECK_DONE();
}
