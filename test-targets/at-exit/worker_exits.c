/* A worker calls exit() while main waits to join it: main is blocked joining
 * the exiting thread, which is no leak. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *worker(void *arg)
{
        (void) arg;
        usleep(20000);
        exit(0);
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
        pthread_join(t, NULL);
        return 9;       /* never reached */
}
