/* A thread joining another that never ends.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=0
 * leakscan-expect: thread joiner state=join verdict=idle top=wait_for_worker line=@join created=main@spawn
 * leakscan-expect: thread stuck state=signal-wait verdict=idle
 */
#include "common.h"

static void *stuck(void *arg)
{
        (void) arg;
        name_self("stuck");
        for (;;)
                pause();
        return NULL;
}

static NOINLINE void wait_for_worker(pthread_t t)
{
        pthread_join(t, NULL); /* @join */
}

static void *joiner(void *arg)
{
        name_self("joiner");
        wait_for_worker(*(pthread_t *) arg);
        return NULL;
}

int main(void)
{
        static pthread_t worker;
        worker = spawn_thread(stuck, NULL);
        spawn_thread(joiner, &worker); /* @spawn */
        ready_and_wait();
}
