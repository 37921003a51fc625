/* A thread blocked on a mutex that main holds forever.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread locker state=mutex verdict=idle leaked=false top=wait_for_lock line=@lock created=main@spawn
 */
#include "common.h"

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static NOINLINE void wait_for_lock(void)
{
        pthread_mutex_lock(&held_lock); /* @lock */
        pthread_mutex_unlock(&held_lock);
}

static void *locker(void *arg)
{
        (void) arg;
        name_self("locker");
        wait_for_lock();
        return NULL;
}

int main(void)
{
        pthread_mutex_lock(&held_lock);
        spawn_thread(locker, NULL); /* @spawn */
        ready_and_wait();
}
