/* A thread busy on the CPU is running, not leaked.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread spinner state=running verdict=running leaked=false
 */
#include <sched.h>

#include "common.h"

static volatile unsigned long spins;

static void *spinner(void *arg)
{
        (void) arg;
        name_self("spinner");
        for (;;)
                spins++;
        return NULL;
}

int main(void)
{
        spawn_thread(spinner, NULL);
        /* named and spinning before anything looks: a spinner not yet
         * scheduled is as "awake" as one that runs, but has no name yet */
        while (spins == 0)
                sched_yield();
        ready_and_wait_busy(1);     /* the spinner never sleeps */
}
