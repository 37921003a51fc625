/* Creates and joins short-lived threads without end, counting them: a
 * server whose thread pool is elastic.  leakscan --watch copies the stack
 * that creates each new thread; it must not keep the copies of threads that
 * ended.  One thread blocks for good.
 *
 * On SIGUSR1 it prints "created N" (threads created so far).  For
 * tests/integration/test_hostile_input.py. */
#include <stdatomic.h>

#include "common.h"

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong created;

static void *short_lived(void *arg)
{
        return arg;
}

static void *spawner(void *arg)
{
        (void) arg;
        name_self("spawner");
        for (;;) {
                pthread_t t[8];
                for (int i = 0; i < 8; i++)
                        t[i] = spawn_thread(short_lived, NULL);
                for (int i = 0; i < 8; i++)
                        pthread_join(t[i], NULL);
                created += 8;
        }
        return NULL;
}

static void *stuck(void *arg)
{
        (void) arg;
        name_self("stuck");
        pthread_mutex_lock(&never);
        return NULL;
}

static void *counter(void *arg)
{
        (void) arg;
        name_self("counter");
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        for (;;) {
                int sig;
                if (sigwait(&set, &sig) == 0) {
                        printf("created %lu\n", (unsigned long) created);
                        fflush(stdout);
                }
        }
        return NULL;
}

int main(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        pthread_mutex_lock(&never);
        spawn_thread(stuck, NULL);
        spawn_thread(counter, NULL);
        spawn_thread(spawner, NULL);
        ready_and_wait();
}
