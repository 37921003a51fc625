/* A detached thread still finishing its work when main returns: the grace
 * period lets it end, so it is no leak (unless --grace=0). */
#include <pthread.h>
#include <unistd.h>

static void *finish_work(void *arg)
{
        (void) arg;
        usleep(150000);
        return NULL;
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, finish_work, NULL);
        pthread_detach(t);
        return 0;
}
