/* Two detached threads that finish within the grace period using only
 * quiet calls: one counts under a mutex and signals a condition variable
 * every 10 ms, the other waits for the count to reach 5; both return
 * through start_thread (munmap, madvise, their own exit).  Neither is a
 * leak, and the exit is held no longer than they take. */
#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int count;

static void *counter(void *arg)
{
        (void) arg;
        for (int i = 0; i < 5; i++) {
                struct timespec ts = { 0, 10 * 1000 * 1000 };
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&lock);
                count++;
                pthread_cond_broadcast(&changed);
                pthread_mutex_unlock(&lock);
        }
        return NULL;
}

static void *waiter(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        while (count < 5)
                pthread_cond_wait(&changed, &lock);
        pthread_mutex_unlock(&lock);
        return NULL;
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, waiter, NULL);
        pthread_detach(t);
        pthread_create(&t, NULL, counter, NULL);
        pthread_detach(t);
        return 0;
}
