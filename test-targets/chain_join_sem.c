/* A chain: collector joins producer, which waits on a semaphore nobody
 * posts.  Blocked, not a deadlock: any thread could still post.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=0
 * leakscan-expect: thread collector state=join verdict=idle joined=producer
 * leakscan-expect: thread producer state=semaphore verdict=idle object=slots value=0
 */
#include <semaphore.h>

#include "common.h"

static sem_t slots;

static void *producer(void *arg)
{
        (void) arg;
        name_self("producer");
        sem_wait(&slots);
        return NULL;
}

static void *collector(void *arg)
{
        name_self("collector");
        pthread_join(*(pthread_t *) arg, NULL);
        return NULL;
}

int main(void)
{
        static pthread_t p;
        sem_init(&slots, 0, 0);
        p = spawn_thread(producer, NULL);
        spawn_thread(collector, &p);
        ready_and_wait();
}
