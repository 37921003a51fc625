/* A mutex whose owner returned while holding it: quitter locked
 * config_lock and ended; waiter can never have it.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=1
 * leakscan-expect: thread waiter state=mutex verdict=orphaned owner=gone object=config_lock top=reload_config line=@lock
 */
#include "common.h"

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

static void *quitter(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&config_lock);
        return NULL;    /* forgets to unlock */
}

static NOINLINE void reload_config(void)
{
        pthread_mutex_lock(&config_lock); /* @lock */
}

static void *waiter(void *arg)
{
        (void) arg;
        name_self("waiter");
        reload_config();
        return NULL;
}

int main(void)
{
        pthread_join(spawn_thread(quitter, NULL), NULL);
        spawn_thread(waiter, NULL);
        ready_and_wait();
}
