/* Never exits: main and a worker wait forever (for --timeout). */
#include <pthread.h>
#include <unistd.h>

static void *worker(void *arg)
{
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, worker, NULL);
        pthread_join(t, NULL);
        return 0;
}
