/* Unit tests of the symbolizer's pure helpers: C++ demangling and symbol
 * version stripping, and source path joining. */
#include <stdlib.h>

#include "check.h"
#include "symbolize.h"

static void check_demangle(const char *in, const char *want)
{
        char *got = symbolize_demangle(in);
        CHECK_EQ_STR(got, want);
        free(got);
}

static void check_path(const char *file, const char *dir, const char *want)
{
        char *got = symbolize_source_path(file, dir);
        CHECK_EQ_STR(got, want);
        free(got);
}

int main(void)
{
        check_demangle("_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE",
                       "std::condition_variable::wait(std::unique_lock<std::mutex>&)");
        check_demangle("pthread_mutex_lock@GLIBC_2.2.5", "pthread_mutex_lock");
        check_demangle("__libc_start_main@@GLIBC_2.34", "__libc_start_main");
        check_demangle("__GI___lll_lock_wait", "__lll_lock_wait");
        check_demangle("_Znot_really_mangled", "_Znot_really_mangled");
        check_demangle("plain_c", "plain_c");
        CHECK(symbolize_demangle(NULL) == NULL);

        check_path("../examples/s.c", "/work/main/build", "/work/main/examples/s.c");
        check_path("./nptl/pthread_mutex_lock.c", "/build/glibc", "/build/glibc/nptl/pthread_mutex_lock.c");
        check_path("/abs/t.c", "/ignored", "/abs/t.c");
        check_path("t.c", NULL, "t.c");
        check_path("../../../../x.c", "/a/b", "/x.c");
        check_path("a//b/./c.c", "/d", "/d/a/b/c.c");
        CHECK(symbolize_source_path(NULL, "/d") == NULL);
        return CHECK_DONE();
}
