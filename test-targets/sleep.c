/* Sleeping threads are in a timed wait: not leaks.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread napper state=sleep syscall=clock_nanosleep timeout=true verdict=timed leaked=false top=nap line=@sleep
 */
#include <time.h>

#include "common.h"

static NOINLINE void nap(void)
{
        struct timespec ts = { 3600, 0 };
        nanosleep(&ts, NULL); /* @sleep */
}

static void *napper(void *arg)
{
        (void) arg;
        name_self("napper");
        for (;;)
                nap();
        return NULL;
}

int main(void)
{
        spawn_thread(napper, NULL);
        ready_and_wait();
}
