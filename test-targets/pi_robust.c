/* Robust and priority-inheritance mutexes keep their owner's TID in the lock
 * word itself: each waiter must name the owner from there.
 * leakscan-expect-at-exit: leaked=4
 * leakscan-expect: leaked=0
 * leakscan-expect: thread pi-waiter state=mutex verdict=idle owner=pi-owner object=pi_lock
 * leakscan-expect: thread rb-waiter state=mutex verdict=idle owner=rb-owner object=robust_lock
 * leakscan-expect: thread pi-owner state=semaphore verdict=idle
 * leakscan-expect: thread rb-owner state=semaphore verdict=idle
 */
#include <semaphore.h>

#include "common.h"

static pthread_mutex_t pi_lock, robust_lock;
static sem_t never, owners_hold;

static void *owner(void *arg)
{
        pthread_mutex_t *m = arg;
        name_self(m == &pi_lock ? "pi-owner" : "rb-owner");
        pthread_mutex_lock(m);
        sem_post(&owners_hold);
        sem_wait(&never);
        return NULL;
}

static void *waiter(void *arg)
{
        pthread_mutex_t *m = arg;
        name_self(m == &pi_lock ? "pi-waiter" : "rb-waiter");
        pthread_mutex_lock(m);
        return NULL;
}

int main(void)
{
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
        pthread_mutex_init(&pi_lock, &a);
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&robust_lock, &a);
        sem_init(&never, 0, 0);
        sem_init(&owners_hold, 0, 0);
        spawn_thread(owner, &pi_lock);
        spawn_thread(owner, &robust_lock);
        sem_wait(&owners_hold);
        sem_wait(&owners_hold);
        spawn_thread(waiter, &pi_lock);
        spawn_thread(waiter, &robust_lock);
        ready_and_wait();
}
