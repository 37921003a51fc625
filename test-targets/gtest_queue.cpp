// A GoogleTest binary of five tests, one of which (QueueTest.Leaky) starts
// a flusher thread and never stops it: under "leakscan --at-exit" the
// report must name that test.  The others start and stop theirs, or start
// none.  For tests/integration/test_testname.py.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fstream>
#include <sstream>
#include <string>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

class Flusher {
public:
        void start()
        {
                thread_ = std::thread([this] { run(); });
        }

        void stop()
        {
                {
                        std::lock_guard<std::mutex> lock(mutex_);
                        stopping_ = true;
                }
                wake_.notify_all();
                thread_.join();
        }

        void detach() { thread_.detach(); }

        // Waits until the thread sleeps in its wait (state S in /proc):
        // under --at-exit a thread is reported as it stood when the exit
        // began, and one still starting then has no wait to show yet.
        void wait_asleep()
        {
                for (;;) {
                        long tid = tid_;
                        std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
                        std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
                        size_t paren = text.rfind(')');
                        if (tid && paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'S')
                                return;
                        sched_yield();
                }
        }

        __attribute__((noinline)) void run()
        {
                pthread_setname_np(pthread_self(), "flusher");
                std::unique_lock<std::mutex> lock(mutex_);
                tid_ = syscall(SYS_gettid);
                wake_.wait(lock, [this] { return stopping_; });
        }

private:
        std::mutex mutex_;
        std::condition_variable wake_;
        bool stopping_ = false;
        std::atomic<long> tid_{0};
        std::thread thread_;
};

class QueueTest : public ::testing::Test {
protected:
        std::vector<int> queue_;
};

}  // namespace

TEST_F(QueueTest, Empty)
{
        EXPECT_TRUE(queue_.empty());
}

TEST_F(QueueTest, Push)
{
        queue_.push_back(1);
        EXPECT_EQ(queue_.size(), 1u);
}

TEST_F(QueueTest, FlushesAndStops)
{
        Flusher f;
        f.start();
        f.stop();
}

TEST_F(QueueTest, Leaky)
{
        auto *f = new Flusher;  // never stopped: its thread outlives the test
        f->start();             // @leaky-start
        f->wait_asleep();
        f->detach();
}

TEST(Arithmetic, Adds)
{
        EXPECT_EQ(1 + 1, 2);
}
