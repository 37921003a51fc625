// A doctest binary of two tests, one leaky: for tests/integration/test_testname.py.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "fw_flusher.hpp"

TEST_CASE("queue is empty")
{
        CHECK(1 + 1 == 2);
}

TEST_CASE("queue leaks, a flusher")
{
        auto *f = new Flusher;
        f->start();     // @leaky-start
        f->thread.detach();
}
