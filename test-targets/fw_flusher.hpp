// A flusher thread for the test-framework targets: start() creates it, and
// it waits for stop() on a condition variable.
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

struct Flusher {
        std::mutex mutex;
        std::condition_variable wake;
        bool stopping = false;
        std::thread thread;

        void start() { thread = std::thread([this] { run(); }); }

        __attribute__((noinline)) void run()
        {
                pthread_setname_np(pthread_self(), "flusher");
                std::unique_lock<std::mutex> lock(mutex);
                wake.wait(lock, [this] { return stopping; });
        }
};
