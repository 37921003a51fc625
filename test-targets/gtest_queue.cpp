// A GoogleTest binary of five tests, one of which (QueueTest.Leaky) starts
// a flusher thread and never stops it: under "leakscan --at-exit" the
// report must name that test.  The others start and stop theirs, or start
// none.  For tests/integration/test_testname.py.
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

#include <gtest/gtest.h>

namespace {

class Flusher {
public:
        /* returns once the thread waits on wake_ (it took the mutex that
         * wait releases): a program that exits right after finds it there */
        void start()
        {
                thread_ = std::thread([this] { run(); });
                std::unique_lock<std::mutex> lock(mutex_);
                waiting_cv_.wait(lock, [this] { return waiting_; });
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

        __attribute__((noinline)) void run()
        {
                pthread_setname_np(pthread_self(), "flusher");
                std::unique_lock<std::mutex> lock(mutex_);
                waiting_ = true;
                waiting_cv_.notify_all();
                wake_.wait(lock, [this] { return stopping_; });
        }

private:
        std::mutex mutex_;
        std::condition_variable wake_;
        std::condition_variable waiting_cv_;
        bool stopping_ = false;
        bool waiting_ = false;
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
        f->detach();
}

TEST(Arithmetic, Adds)
{
        EXPECT_EQ(1 + 1, 2);
}
