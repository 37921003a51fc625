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
        // std::thread's constructor, a template from a system header, sits
        // above this frame in the creator's stack
        auto *f = new Flusher;
        f->thread = std::thread([f] { f->run(); });  // @leaky-start
        f->thread.detach();
}
