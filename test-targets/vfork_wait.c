/* A thread in uninterruptible sleep for good: "vforker" called vfork() and
 * its child never execs nor exits, so the kernel parks it in D state (a
 * vfork parent cannot stop until the child lets its memory go).  A
 * snapshot must not hold the other threads stopped while waiting for it
 * (tests/integration/test_robustness.py checks the stop time), and reports
 * it from /proc alone.
 * leakscan-expect: leaked=0
 * leakscan-expect: thread vforker state=disk-io syscall=vfork top=vforker verdict=idle
 * leakscan-expect: thread locker state=mutex verdict=idle top=wait_for_lock
 */
#include "common.h"

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static NOINLINE void wait_for_lock(void)
{
        pthread_mutex_lock(&held_lock);
}

static void *locker(void *arg)
{
        (void) arg;
        name_self("locker");
        wait_for_lock();
        return NULL;
}

static void *vforker(void *arg)
{
        (void) arg;
        name_self("vforker");
        if (vfork() == 0)
                for (;;)
                        pause();        /* the child: in the harness's process group, killed with it */
        return NULL;
}

int main(void)
{
        pthread_mutex_lock(&held_lock);
        spawn_thread(locker, NULL);
        spawn_thread(vforker, NULL);
        ready_and_wait();
}
