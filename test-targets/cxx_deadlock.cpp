// A C++ lock-order inversion with std::mutex and std::lock_guard.
// leakscan-expect-at-exit: leaked=2
// leakscan-expect: leaked=2
// leakscan-expect: thread transfer-ab state=mutex verdict=deadlock owner=transfer-ba cycle=2 top=transfer line=@second
// leakscan-expect: thread transfer-ba state=mutex verdict=deadlock owner=transfer-ab cycle=2 top=transfer line=@second
#include <barrier>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

struct account {
        std::mutex lock;
        long balance = 100;
};

static account savings, checking;
static std::barrier both_hold_one(2);

__attribute__((noinline)) static void transfer(account &from, account &to, long amount)
{
        std::lock_guard<std::mutex> a(from.lock);
        both_hold_one.arrive_and_wait();
        std::lock_guard<std::mutex> b(to.lock); // @second
        from.balance -= amount;
        to.balance += amount;
}

int main()
{
        std::thread ab([] { pthread_setname_np(pthread_self(), "transfer-ab"); transfer(savings, checking, 10); });
        std::thread ba([] { pthread_setname_np(pthread_self(), "transfer-ba"); transfer(checking, savings, 20); });
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                wait_others_quiet(0);   /* the threads are in their waits */
                _exit(0);
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
