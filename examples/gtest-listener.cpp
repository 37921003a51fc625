// GoogleTest with leakscan's listener: a test that leaves a thread behind
// fails, with leakscan's report as its failure message.  Of these tests,
// QueueTest.Leaky fails (its flusher is started and never stopped); the
// others pass: a thread joined, a detached one that ends within the grace,
// and a pool thread that the listener is told to ignore.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <leakscan/gtest.h>

namespace {

class Flusher {
public:
        void start() { thread_ = std::thread([this] { run(); }); }
        void stop()
        {
                {
                        std::lock_guard<std::mutex> g(lock_);
                        stopping_ = true;
                }
                wake_.notify_one();
                thread_.join();
        }
        // leaves the thread running: the leak
        void abandon() { thread_.detach(); }

private:
        void run()
        {
                std::unique_lock<std::mutex> g(lock_);
                wake_.wait(g, [this] { return stopping_; });
        }
        std::mutex lock_;
        std::condition_variable wake_;
        bool stopping_ = false;
        std::thread thread_;
};

struct BackgroundPool {
        static void worker()
        {
                // never destroyed, as in Leaky
                auto *m = new std::mutex;
                auto *never = new std::condition_variable;
                std::unique_lock<std::mutex> g(*m);
                never->wait(g, [] { return false; });
        }
};

}  // namespace

TEST(QueueTest, Tidy)
{
        Flusher f;
        f.start();
        f.stop();
}

TEST(QueueTest, Leaky)
{
        // outlives the test, as a leaked thread's object would (never
        // destroyed: destroying a condition variable a thread waits on hangs)
        Flusher *f = new Flusher;
        f->start();
        f->abandon();
}

TEST(QueueTest, EndsWithinGrace)
{
        std::thread([] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }).detach();
}

TEST(PoolTest, IgnoredPool)
{
        std::thread(BackgroundPool::worker).detach();
}

int main(int argc, char **argv)
{
        ::testing::InitGoogleTest(&argc, argv);
        ::testing::UnitTest::GetInstance()->listeners().Append(
                new leakscan::ThreadLeakListener("top:*BackgroundPool::worker*"));
        return RUN_ALL_TESTS();
}
