/* Leaks one thread every 100 ms (for --watch): each new "session" waits on
 * a condition nobody signals, up to 300 of them.
 * leakscan-expect: leaked=0
 */
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t closed = PTHREAD_COND_INITIALIZER;

static NOINLINE void wait_for_close(void)
{
        pthread_mutex_lock(&lock);
        pthread_cond_wait(&closed, &lock);
        pthread_mutex_unlock(&lock);
}

static void *session(void *arg)
{
        (void) arg;
        name_self("session");
        wait_for_close();
        return NULL;
}

static void *acceptor(void *arg)
{
        (void) arg;
        name_self("acceptor");
        for (int i = 0; i < 300; i++) {
                spawn_thread(session, NULL); /* @spawn */
                usleep(100000);
        }
        for (;;)
                pause();
        return NULL;
}

int main(void)
{
        spawn_thread(acceptor, NULL);
        ready_and_wait();
}
