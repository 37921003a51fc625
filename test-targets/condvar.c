/* Two threads waiting on a condition nobody signals.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=0
 * leakscan-expect: thread waiter count=2 state=condvar verdict=idle leaked=false timeout=false top=wait_for_ready line=@wait
 */
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready_flag;

static NOINLINE void wait_for_ready(void)
{
        pthread_mutex_lock(&lock);
        while (!ready_flag)
                pthread_cond_wait(&cond, &lock); /* @wait */
        pthread_mutex_unlock(&lock);
}

static void *waiter(void *arg)
{
        (void) arg;
        name_self("waiter");
        wait_for_ready();
        return NULL;
}

int main(void)
{
        spawn_thread(waiter, NULL);
        spawn_thread(waiter, NULL);
        ready_and_wait();
}
