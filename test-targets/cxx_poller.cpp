// The headline names the user's function, not the library template it
// waits in: Poller::poll_updates() waits with cv.wait(lock, pred), which
// instantiates std::condition_variable::wait<lambda> from
// /usr/include/c++ in this program.
// leakscan-expect-at-exit: leaked=1
// leakscan-expect: leaked=0
// leakscan-expect: thread poller state=condvar verdict=idle top=Poller::poll_updates line=@poll created=main@spawn
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

class Poller {
public:
        void poll_updates()
        {
                std::unique_lock<std::mutex> l(lock_);
                changed_.wait(l, [this] { return pending_ > 0; }); // @poll
                pending_--;
        }

private:
        std::mutex lock_;
        std::condition_variable changed_;
        int pending_ = 0;
};

static Poller poller;

int main()
{
        std::thread t([] {
                pthread_setname_np(pthread_self(), "poller");
                poller.poll_updates();
        }); // @spawn (a call spanning lines is attributed to its last)
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                wait_others_quiet(0);   /* the threads are in their waits */
                _exit(0);               /* std::thread's destructor would abort */
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
