// C++ std::thread waits: std::mutex, std::condition_variable, std::future,
// std::thread::join.
// leakscan-expect-at-exit: leaked=4
// leakscan-expect: leaked=0
// leakscan-expect: thread cxxmutex state=mutex verdict=idle top=lock_shared_state line=@mutex
// leakscan-expect: thread cxxcond state=condvar verdict=idle top=wait_for_job line=@cond
// leakscan-expect: thread cxxfuture state=condvar verdict=idle top=wait_for_result line=@future
// leakscan-expect: thread cxxjoin state=join verdict=idle top=join_worker line=@join
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static std::mutex shared_state;
static std::mutex job_lock;
static std::condition_variable job_ready;
static std::promise<int> result_promise;

NOINLINE static void lock_shared_state()
{
        std::lock_guard<std::mutex> g(shared_state); // @mutex
}

NOINLINE static void wait_for_job()
{
        std::unique_lock<std::mutex> l(job_lock);
        job_ready.wait(l); // @cond
}

NOINLINE static void wait_for_result(std::future<int> &f)
{
        f.wait(); // @future
}

NOINLINE static void join_worker(std::thread &t)
{
        t.join(); // @join
}

int main()
{
        shared_state.lock();
        std::thread a([] { pthread_setname_np(pthread_self(), "cxxmutex"); lock_shared_state(); });
        std::thread b([] {
                pthread_setname_np(pthread_self(), "cxxcond");
                for (;;)
                        wait_for_job();
        });
        std::future<int> fut = result_promise.get_future();
        std::thread c([&fut] { pthread_setname_np(pthread_self(), "cxxfuture"); wait_for_result(fut); });
        std::thread d([&b] { pthread_setname_np(pthread_self(), "cxxjoin"); join_worker(b); });
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                usleep(300000);         /* let the threads reach their waits */
                _exit(0);               /* std::thread destructors would abort */
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
