/* A program whose threads all finished and were joined: nothing to report.
 * leakscan-expect-at-exit: leaked=0
 * leakscan-expect: leaked=0
 */
#include "common.h"

static void *work(void *arg)
{
        return arg;
}

int main(void)
{
        for (int i = 0; i < 4; i++)
                pthread_join(spawn_thread(work, NULL), NULL);
        ready_and_wait();
}
