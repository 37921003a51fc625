/* Benchmark target for the --at-exit quarantine: N detached threads blocked
 * on a condition variable when main returns (the usual leaked threads),
 * for bench/exit_stop.py to time how long leakscan takes, from receiving
 * the exit, to stop them all.
 * Usage: bench-exit-stop N */
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER, arrived = PTHREAD_COND_INITIALIZER;
static int waiting;

static void *wait_forever(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        waiting++;
        pthread_cond_signal(&arrived);
        for (;;)
                pthread_cond_wait(&never, &lock);
        return NULL;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 10;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        for (int i = 0; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, &attr, wait_forever, NULL) != 0)
                        return 2;
        }
        pthread_mutex_lock(&lock);
        while (waiting < n)
                pthread_cond_wait(&arrived, &lock);
        pthread_mutex_unlock(&lock);
        return 0;
}
