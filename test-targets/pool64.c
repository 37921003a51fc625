/* 64 identical workers waiting on one condition: one group in the report.
 * leakscan-expect: leaked=0
 * leakscan-expect: thread handler count=64 state=condvar verdict=idle top=handle_request
 */
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static int waiting;

static NOINLINE void handle_request(void)
{
        pthread_mutex_lock(&lock);
        waiting++;
        pthread_cond_wait(&work, &lock);
        pthread_mutex_unlock(&lock);
}

static void *handler(void *arg)
{
        (void) arg;
        name_self("handler");
        handle_request();
        return NULL;
}

int main(void)
{
        for (int i = 0; i < 64; i++)
                spawn_thread(handler, NULL);
        /* each counts itself with the lock held and releases it only in
         * pthread_cond_wait: at 64, none is left contending for the lock,
         * which would put it in another state and another group */
        for (int n = 0; n < 64; usleep(1000)) {
                pthread_mutex_lock(&lock);
                n = waiting;
                pthread_mutex_unlock(&lock);
        }
        ready_and_wait();
}
