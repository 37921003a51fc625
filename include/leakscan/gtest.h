/* leakscan for GoogleTest: a listener that fails every test that leaves
 * threads behind, with leakscan's report in the failure message.
 *
 *   #include <gtest/gtest.h>
 *   #include <leakscan/gtest.h>
 *
 *   int main(int argc, char **argv) {
 *           ::testing::InitGoogleTest(&argc, argv);
 *           ::testing::UnitTest::GetInstance()->listeners().Append(new leakscan::ThreadLeakListener);
 *           return RUN_ALL_TESTS();
 *   }
 *
 * Each test starts with a baseline of the threads alive (goleak's
 * IgnoreCurrent), and ends with leakscan_verify_none(): a thread it started
 * and did not stop (after the grace of --at-exit) fails it.  Header-only:
 * link with `pkg-config --libs leakscan` and GoogleTest.  The failure is
 * raised in OnTestEnd, which GoogleTest calls on appended listeners before
 * its own printer, so the test is reported FAILED with the message. */
#ifndef LEAKSCAN_GTEST_H
#define LEAKSCAN_GTEST_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "leakscan/verify.h"

namespace leakscan {

class ThreadLeakListener : public ::testing::EmptyTestEventListener {
public:
        /* ignore: more ignore rules for every test, one "KIND:PATTERN" a line
         * (e.g. "top:ThreadPool::worker"); grace_ms as in
         * struct leakscan_verify_options (0: the default). */
        explicit ThreadLeakListener(std::string ignore = std::string(), int64_t grace_ms = 0)
                : ignore_(std::move(ignore)), grace_ms_(grace_ms) {}
        ~ThreadLeakListener() override { leakscan_baseline_free(baseline_); }

        void OnTestStart(const ::testing::TestInfo &) override
        {
                leakscan_baseline_free(baseline_);
                baseline_ = nullptr;
                int r = leakscan_baseline_take(&baseline_);
                if (r < 0)
                        ADD_FAILURE() << "leakscan: cannot record the threads alive before the test: "
                                      << std::strerror(-r);
        }

        void OnTestEnd(const ::testing::TestInfo &) override
        {
                if (!baseline_)
                        return;
                /* the report, or why there is none, is written into message */
                char *message = nullptr;
                size_t len = 0;
                FILE *f = open_memstream(&message, &len);
                struct leakscan_verify_options opts = LEAKSCAN_VERIFY_OPTIONS_INIT;
                opts.baseline = baseline_;
                opts.grace_ms = grace_ms_;
                opts.ignore = ignore_.empty() ? nullptr : ignore_.c_str();
                opts.print_to = f;
                int n = leakscan_verify_none(&opts, nullptr);
                if (f)
                        std::fclose(f);
                const char *text = message ? message : "";
                if (n > 0)
                        ADD_FAILURE() << "the test left " << n << " thread" << (n == 1 ? "" : "s")
                                      << " behind\n" << text;
                else if (n < 0)
                        ADD_FAILURE() << "leakscan could not check the test's threads: " << std::strerror(-n)
                                      << "\n" << text;
                std::free(message);
                leakscan_baseline_free(baseline_);
                baseline_ = nullptr;
        }

private:
        std::string ignore_;
        int64_t grace_ms_;
        struct leakscan_baseline *baseline_ = nullptr;
};

}  // namespace leakscan

#endif
