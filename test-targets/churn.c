/* Robustness target: threads are created and exit all the time, so that a
 * snapshot races with both.  One thread blocks for good. */
#include "common.h"

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

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

int main(void)
{
        pthread_mutex_lock(&never);
        spawn_thread(stuck, NULL);
        spawn_thread(spawner, NULL);
        ready_and_wait();
}
