/* A condition variable on the waiter's own stack, never published: no
 * other thread knows where it is, so nothing can ever signal it.
 * leakscan-expect: leaked=1
 * leakscan-expect: thread lonely state=condvar verdict=unreachable leaked=true reach=unreachable region=stack in=wait_alone top=wait_alone line=@wait
 */
#include "common.h"

static NOINLINE void wait_alone(void)
{
        pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
        int done = 0;
        pthread_mutex_lock(&lock);
        while (!done)
                pthread_cond_wait(&cond, &lock); /* @wait */
        pthread_mutex_unlock(&lock);
}

static void *lonely(void *arg)
{
        (void) arg;
        name_self("lonely");
        wait_alone();
        return NULL;
}

int main(void)
{
        spawn_thread(lonely, NULL);
        ready_and_wait();
}
