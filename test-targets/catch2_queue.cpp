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
        // std::thread's constructor, a template from a system header, sits
        // above this frame in the creator's stack
        auto *f = new Flusher;
        f->thread = std::thread([f] { f->run(); });  // @leaky-start
        f->thread.detach();
}
