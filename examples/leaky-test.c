/* A "test" that passes its own checks but leaves a thread behind: what
 * scripts/demo runs under leakscan --at-exit. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_requested = PTHREAD_COND_INITIALIZER;

static void *flusher(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        pthread_cond_wait(&flush_requested, &lock);
        pthread_mutex_unlock(&lock);
        return NULL;
}

static void start_background_flusher(void)
{
        pthread_t t;
        pthread_create(&t, NULL, flusher, NULL);
}

int main(void)
{
        start_background_flusher();
        usleep(10000);
        printf("leaky: all checks passed\n");
        return 0;
}
