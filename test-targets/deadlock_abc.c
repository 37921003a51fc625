/* A three-thread cycle: each takes its own lock, then the next one's.
 * leakscan-expect-at-exit: leaked=3
 * leakscan-expect: leaked=3
 * leakscan-expect: thread link0 state=mutex verdict=deadlock owner=link1 object=locks+40 cycle=3
 * leakscan-expect: thread link1 state=mutex verdict=deadlock owner=link2 object=locks+80 cycle=3
 * leakscan-expect: thread link2 state=mutex verdict=deadlock owner=link0 object=locks cycle=3
 */
#include "common.h"

static pthread_mutex_t locks[3] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                    PTHREAD_MUTEX_INITIALIZER };
static pthread_barrier_t all_hold_one;

static void *link_thread(void *arg)
{
        int i = (int) (intptr_t) arg;
        char name[16];
        snprintf(name, sizeof name, "link%d", i);
        name_self(name);
        pthread_mutex_lock(&locks[i]);
        pthread_barrier_wait(&all_hold_one);
        pthread_mutex_lock(&locks[(i + 1) % 3]);
        return NULL;
}

int main(void)
{
        pthread_barrier_init(&all_hold_one, NULL, 3);
        for (int i = 0; i < 3; i++)
                spawn_thread(link_thread, (void *) (intptr_t) i);
        ready_and_wait();
}
