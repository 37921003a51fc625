// A Catch2 binary of two tests, one leaky: for tests/integration/test_testname.py.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

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
