/* Thread stacks carved from one mapping that also holds other objects, as
 * Go's runtime and coroutine libraries lay them out: a lock on the server's
 * stack is on its stack, but a condvar elsewhere in the mapping is on no
 * thread's stack, though the mapping holds two of them.
 * leakscan-expect: leaked=0
 * leakscan-expect: thread client state=mutex verdict=idle owner=server region=stack in=serve
 * leakscan-expect: thread server state=semaphore verdict=idle
 * leakscan-expect: thread parked state=condvar verdict=idle region=heap
 */
#include <semaphore.h>
#include <sys/mman.h>

#include "common.h"

#define STACK (256 * 1024)

static sem_t never, handed;
static pthread_mutex_t *shared;
static struct arena_object {
        pthread_mutex_t lock;
        pthread_cond_t wake;
} *object;

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

static void *parked(void *arg)
{
        (void) arg;
        name_self("parked");
        pthread_mutex_lock(&object->lock);
        pthread_cond_wait(&object->wake, &object->lock);
        pthread_mutex_unlock(&object->lock);
        return NULL;
}

/* A thread on [base, base + STACK) of the arena. */
static void spawn_on(char *base, void *(*fn)(void *))
{
        pthread_attr_t a;
        pthread_t t;
        pthread_attr_init(&a);
        pthread_attr_setstack(&a, base, STACK);
        if (pthread_create(&t, &a, fn, NULL) != 0)
                die("pthread_create");
        pthread_attr_destroy(&a);
}

int main(void)
{
        char *arena = mmap(NULL, 4 * STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (arena == MAP_FAILED)
                die("mmap");
        object = (struct arena_object *) (arena + 3 * STACK + 4096);
        pthread_mutex_init(&object->lock, NULL);
        pthread_cond_init(&object->wake, NULL);
        sem_init(&never, 0, 0);
        sem_init(&handed, 0, 0);
        spawn_on(arena, server);
        spawn_on(arena + STACK, client);
        spawn_thread(parked, NULL);
        ready_and_wait();
}
