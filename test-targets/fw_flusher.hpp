// A flusher thread for the test-framework targets: start() creates it, and
// it waits for stop() on a condition variable.  start() returns only once the
// thread waits there (it took the mutex the wait releases), so a program that
// exits right after finds it in that wait, never still naming itself.
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

struct Flusher {
        std::mutex mutex;
        std::condition_variable wake;
        std::condition_variable waiting_cv;
        bool stopping = false;
        bool waiting = false;
        std::thread thread;

        void start()
        {
                thread = std::thread([this] { run(); });
                std::unique_lock<std::mutex> lock(mutex);
                waiting_cv.wait(lock, [this] { return waiting; });
        }

        __attribute__((noinline)) void run()
        {
                pthread_setname_np(pthread_self(), "flusher");
                std::unique_lock<std::mutex> lock(mutex);
                waiting = true;
                waiting_cv.notify_all();
                wake.wait(lock, [this] { return stopping; });
        }
};
