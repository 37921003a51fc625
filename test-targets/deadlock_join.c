/* A cycle through pthread_join: boss holds state_lock and joins worker,
 * which needs state_lock to finish.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=2
 * leakscan-expect: thread boss state=join verdict=deadlock joined=worker cycle=2 top=wait_for_worker line=@join
 * leakscan-expect: thread worker state=mutex verdict=deadlock owner=boss object=state_lock cycle=2
 */
#include <stdint.h>

#include "common.h"

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t boss_holds;

static void *worker(void *arg)
{
        (void) arg;
        name_self("worker");
        pthread_barrier_wait(&boss_holds);
        pthread_mutex_lock(&state_lock);
        return NULL;
}

static NOINLINE void wait_for_worker(pthread_t t)
{
        pthread_join(t, NULL); /* @join */
}

static void *boss(void *arg)
{
        (void) arg;
        name_self("boss");
        pthread_mutex_lock(&state_lock);
        pthread_t w = spawn_thread(worker, NULL);
        pthread_barrier_wait(&boss_holds);
        wait_for_worker(w);
        return NULL;
}

int main(void)
{
        pthread_barrier_init(&boss_holds, NULL, 2);
        spawn_thread(boss, NULL);
        ready_and_wait();
}
