// C++ std::thread waits: std::mutex, std::condition_variable, std::future,
// std::thread::join; and two whose top function has characters that
// suppressions must escape or keep: a lambda ("{lambda()#1}", a '#') and a
// template instance ('*', '<', ' ').
// leakscan-expect-at-exit: leaked=6
// leakscan-expect: leaked=0
// leakscan-expect: thread cxxmutex state=mutex verdict=idle top=lock_shared_state line=@mutex
// leakscan-expect: thread cxxcond state=condvar verdict=idle top=wait_for_job line=@cond
// leakscan-expect: thread cxxfuture state=condvar verdict=idle top=wait_for_result line=@future
// leakscan-expect: thread cxxjoin state=join verdict=idle top=join_worker line=@join
// leakscan-expect: thread cxxlambda state=condvar verdict=idle line=@lambda
// leakscan-expect: thread cxxtemplate state=mutex verdict=idle line=@template
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

static std::mutex shared_state;
static std::mutex job_lock;
static std::condition_variable job_ready;
static std::promise<int> result_promise;
static std::mutex lambda_lock;          /* globals: the waits stay reachable (idle) */
static std::condition_variable lambda_ready;

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

template <typename T>
NOINLINE static void park_all(std::vector<T *> &items)
{
        std::lock_guard<std::mutex> g(shared_state); // @template
        items.clear();
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
        std::thread e([] {
                pthread_setname_np(pthread_self(), "cxxlambda");
                std::unique_lock<std::mutex> l(lambda_lock);
                for (;;)
                        lambda_ready.wait(l); // @lambda
        });
        std::vector<int *> items;
        std::thread f([&items] { pthread_setname_np(pthread_self(), "cxxtemplate"); park_all(items); });
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                wait_others_quiet(0);   /* the threads are in their waits */
                _exit(0);               /* std::thread destructors would abort */
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
