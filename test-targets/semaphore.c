/* A consumer waiting on a semaphore that is never posted.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread consumer state=semaphore verdict=idle top=consume_one line=@semwait created=main@spawn
 */
#include <semaphore.h>

#include "common.h"

static sem_t items;

static NOINLINE void consume_one(void)
{
        sem_wait(&items); /* @semwait */
}

static void *consumer(void *arg)
{
        (void) arg;
        name_self("consumer");
        consume_one();
        return NULL;
}

int main(void)
{
        sem_init(&items, 0, 0);
        spawn_thread(consumer, NULL); /* @spawn */
        ready_and_wait();
}
