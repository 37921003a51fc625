/* Unit tests of testname: each framework's row on a hand-built creator
 * stack, the thread's own stack when no creator is known, and shapes that
 * must not be taken for tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- a registry in fake memory ---- */

#define HEAP 0x10000u
#define TEST_FN 0x401000u
static unsigned char heap[4096];
static int declared_line = 30;

static int fake_read(void *userdata, uint64_t addr, void *buf, size_t len)
{
        (void) userdata;
        if (addr >= HEAP && addr + len <= HEAP + sizeof heap) {
                memcpy(buf, heap + (addr - HEAP), len);
                return 0;
        }
        if (addr == 0x500000 && len >= 5) {     /* a literal in .rodata */
                memcpy(buf, "leaks", 6);
                return 0;
        }
        return -EFAULT;
}

static int fake_entry(void *userdata, uint64_t pc, const char *local, uint64_t *ret_entry, int *ret_line)
{
        (void) userdata;
        (void) local;
        if (pc < TEST_FN || pc >= TEST_FN + 0x100)
                return -ENOENT;
        *ret_entry = TEST_FN;
        *ret_line = declared_line;
        return 0;
}

static void put(size_t at, uint64_t v, size_t size)
{
        memcpy(heap + at, &v, size);
}

static char *recognise_in(struct leakscan_frame *frames, size_t n, struct testname_registry *reg)
{
        struct leakscan_thread t = { .tid = 2, .has_created_by = true, .created_by = frames, .n_created_by = n };
        CHECK_EQ_INT(testname_recognise_in(&t, reg), 0);
        char *s = NULL;
        if (t.test && asprintf(&s, "%s %s %d | %s", t.test->framework, t.test->name, t.test->line,
                               frames[1].function) < 0)
                s = NULL;
        if (t.test) {
                free(t.test->name);
                free(t.test->file);
                free(t.test);
        }
        return s;
}

static void registries(void)
{
        struct map_entry maps[] = { { .start = HEAP, .end = HEAP + sizeof heap, .perms = "rw-p", .path = (char *) "" } };
        struct testname_memory mem = { fake_read, fake_entry, NULL, maps, 1, NULL };

        /* Catch2 2.x: the invoker at 0x100 holds the function; the TestCase
         * at 0x400 points at it, declares line 30 and a name "flushes" */
        memset(heap, 0, sizeof heap);
        put(0x108, TEST_FN, 8);
        put(0x400 + 168, HEAP + 0x100, 8);
        put(0x400 + 152, 30, 8);
        put(0x400, HEAP + 0x800, 8);
        put(0x408, 7, 8);
        memcpy(heap + 0x800, "flushes", 7);
        struct testname_registry *reg = testname_registry_new(&mem);
        CHECK(reg != NULL);
        struct leakscan_frame c2[] = {
                SYS("pthread_create"),
                { .pc = TEST_FN + 0x20, .function = strdup("C_A_T_C_H_T_E_S_T_2()"), .file = (char *) "/nonexistent/t.cpp",
                  .line = 33 },
        };
        char *got = recognise_in(c2, 2, reg);
        CHECK_EQ_STR(got ? got : "(none)", "catch2 flushes 33 | TEST_CASE(\"flushes\")");
        free(got);
        free(c2[1].function);
        testname_registry_free(reg);

        /* a word that equals the function but declares another line is no
         * entry: named by place */
        declared_line = 31;
        reg = testname_registry_new(&mem);
        struct leakscan_frame c2b[] = {
                SYS("pthread_create"),
                { .pc = TEST_FN + 0x20, .function = strdup("C_A_T_C_H_T_E_S_T_2()"), .file = (char *) "/nonexistent/t.cpp",
                  .line = 33 },
        };
        got = recognise_in(c2b, 2, reg);
        CHECK_EQ_STR(got ? got : "(none)", "catch2 t.cpp:33 33 | C_A_T_C_H_T_E_S_T_2()");
        free(got);
        free(c2b[1].function);
        testname_registry_free(reg);

        /* doctest 2.4: the TestCase holds the function at 80, the line at
         * 24 and a literal's address at 32 */
        declared_line = 30;
        memset(heap, 0, sizeof heap);
        put(0x200 + 80, TEST_FN, 8);
        put(0x200 + 24, 30, 4);
        put(0x200 + 32, 0x500000, 8);
        reg = testname_registry_new(&mem);
        struct leakscan_frame dt[] = {
                SYS("pthread_create"),
                { .pc = TEST_FN + 0x20, .function = strdup("_DOCTEST_ANON_FUNC_8()"), .file = (char *) "/nonexistent/t.cpp",
                  .line = 35 },
        };
        got = recognise_in(dt, 2, reg);
        CHECK_EQ_STR(got ? got : "(none)", "doctest leaks 35 | TEST_CASE(\"leaks\")");
        free(got);
        free(dt[1].function);
        testname_registry_free(reg);

        /* no registry (freed at exit): the name the source declares on the
         * test's line */
        memset(heap, 0, sizeof heap);
        char path[] = "/tmp/test-testname-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        FILE *f = fdopen(fd, "w");
        for (int i = 1; i < 30; i++)
                fputs("\n", f);
        fputs("TEST_CASE(\"drains \\\"all\\\" on shutdown\", \"[queue]\")\n", f);
        fclose(f);
        reg = testname_registry_new(&mem);
        struct leakscan_frame src[] = {
                SYS("pthread_create"),
                { .pc = TEST_FN + 0x20, .function = strdup("C_A_T_C_H_T_E_S_T_2()"), .file = path, .line = 33 },
        };
        got = recognise_in(src, 2, reg);
        CHECK_EQ_STR(got ? got : "(none)", "catch2 drains \"all\" on shutdown 33 | TEST_CASE(\"drains \"all\" on shutdown\")");
        free(got);
        free(src[1].function);
        testname_registry_free(reg);
        unlink(path);
}

#define PY(fn, f, l, sys) { .function = (fn), .file = (f), .line = (l), .language = "python", .system = (sys) }
#define EVAL SYS("_PyEval_EvalFrameDefault")

/* pytest's and unittest's tests, in Python frames merged into a creator
 * stack: the user's outermost frame inside the runner's, named as pytest
 * names it, relative to the working directory when beneath it. */
static void python_tests(void)
{
        struct leakscan_frame pytest[] = {
                SYS("pthread_create"), SYS("PyThread_start_new_thread"), EVAL,
                PY("Thread.start", "/usr/lib/python3.11/threading.py", 957, true),
                PY("start_worker", "/p/tests/test_cache.py", 11, false),
                PY("test_evicts", "/p/tests/test_cache.py", 23, false),
                PY("pytest_pyfunc_call", "/usr/lib/python3/dist-packages/_pytest/python.py", 195, true),
                PY("_multicall", "/usr/lib/python3/dist-packages/pluggy/_callers.py", 39, true), EVAL,
        };
        EXPECT(pytest, true, "pytest /p/tests/test_cache.py::test_evicts /p/tests/test_cache.py:23");
        struct testname_memory mem = { .cwd = "/p" };
        struct testname_registry *reg = testname_registry_new(&mem);
        CHECK(reg != NULL);
        struct leakscan_thread t = { .has_created_by = true, .created_by = pytest,
                                     .n_created_by = sizeof pytest / sizeof pytest[0] };
        CHECK_EQ_INT(testname_recognise_in(&t, reg), 0);
        CHECK(t.test != NULL);
        if (t.test) {
                CHECK_EQ_STR(t.test->name, "tests/test_cache.py::test_evicts");
                free(t.test->name);
                free(t.test->file);
                free(t.test);
        }
        testname_registry_free(reg);

        struct leakscan_frame unittest[] = {
                SYS("pthread_create"), EVAL,
                PY("Thread.start", "/usr/lib/python3.11/threading.py", 957, true),
                PY("TestCache.test_joins", "/p/test_cache.py", 30, false), EVAL,
                PY("TestCase._callTestMethod", "/usr/lib/python3.11/unittest/case.py", 579, true),
                PY("TestCase.run", "/usr/lib/python3.11/unittest/case.py", 623, true),
        };
        EXPECT(unittest, true, "unittest /p/test_cache.py::TestCache::test_joins /p/test_cache.py:30");
        /* a user's function named as the runner's is no runner */
        struct leakscan_frame impostor[] = {
                SYS("pthread_create"), PY("helper", "/p/app.py", 3, false),
                PY("pytest_pyfunc_call", "/p/conftest.py", 9, false),
        };
        EXPECT(impostor, true, NULL);
}

int main(void)
{
        registries();
        python_tests();

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
        /* std::thread's constructor, instantiated with the test's lambda,
         * names the test in its template arguments: it is not the test */
        struct leakscan_frame in_template[] = {
                SYS("pthread_create"),
                { .function = "std::thread::thread<C_A_T_C_H_T_E_S_T_2()::{lambda()#1}, , void>(C_A_T_C_H_T_E_S_T_2()::{lambda()#1}&&)",
                  .file = "/usr/include/c++/12/bits/std_thread.h", .line = 142 },
                USER("C_A_T_C_H_T_E_S_T_2()", 14), SYS("Catch::TestInvokerAsFunction::invoke() const"),
        };
        EXPECT(in_template, true, "catch2 t.cpp:14 /src/tests/t.cpp:14");
        struct leakscan_frame gtest_template[] = {
                { .function = "void std::__invoke_impl<void, ns::Queue_Leaks_Test::TestBody()::{lambda()#1}>(std::__invoke_other, ns::Queue_Leaks_Test::TestBody()::{lambda()#1}&&)",
                  .file = "/usr/include/c++/12/bits/invoke.h", .line = 61 },
                USER("ns::Queue_Leaks_Test::TestBody()", 9), SYS("testing::Test::Run()"),
        };
        EXPECT(gtest_template, true, "googletest Queue.Leaks /src/tests/t.cpp:9");
        /* a thread's own stack, without a creator: the lambda a test
         * defined runs in it */
        struct leakscan_frame lambda[] = {
                SYS("pthread_cond_wait"), USER("DOCTEST_ANON_FUNC_15()::{lambda()#1}::operator()() const", 16),
                SYS("std::thread::_State_impl<std::thread::_Invoker<std::tuple<DOCTEST_ANON_FUNC_15()::{lambda()#1}> > >::_M_run()"),
        };
        EXPECT(lambda, false, "doctest t.cpp:16 /src/tests/t.cpp:16");

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
