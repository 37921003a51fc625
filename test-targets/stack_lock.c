/* A lock that lives on a thread's stack: server locks the mutex local to
 * its serve() and hands its address to client, then waits for good.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=0
 * leakscan-expect: thread client state=mutex verdict=idle owner=server region=stack in=serve
 * leakscan-expect: thread server state=semaphore verdict=idle
 */
#include <semaphore.h>

#include "common.h"

static sem_t never, handed;
static pthread_mutex_t *shared;

static void *client(void *arg)
{
        (void) arg;
        name_self("client");
        sem_wait(&handed);
        pthread_mutex_lock(shared);
        return NULL;
}

static NOINLINE void serve(void)
{
        pthread_mutex_t session = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&session);
        shared = &session;
        sem_post(&handed);
        sem_wait(&never);
}

static void *server(void *arg)
{
        (void) arg;
        name_self("server");
        serve();
        return NULL;
}

int main(void)
{
        sem_init(&never, 0, 0);
        sem_init(&handed, 0, 0);
        spawn_thread(server, NULL);
        spawn_thread(client, NULL);
        ready_and_wait();
}
