/* Leaks a thread, then fails with the status given as argv[1] (or is killed
 * by the signal given as "-SIGNUM"): the status passes through leakscan. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void *stuck(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&never);
        return NULL;
}

int main(int argc, char **argv)
{
        pthread_t t;
        pthread_mutex_lock(&never);
        pthread_create(&t, NULL, stuck, NULL);
        usleep(20000);
        int v = argc > 1 ? atoi(argv[1]) : 0;
        if (v < 0)
                raise(-v);
        return v;
}
