/* A GLib test program of two tests, one leaky (a flusher thread nobody
 * stops): for tests/integration/test_testname.py. */
#include <glib.h>
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;

static void *flusher(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "flusher");
        pthread_mutex_lock(&lock);
        pthread_cond_wait(&wake, &lock);
        pthread_mutex_unlock(&lock);
        return NULL;
}

static void start_flusher(void)
{
        pthread_t t;
        pthread_create(&t, NULL, flusher, NULL);
}

static void test_queue_empty(void)
{
        g_assert_cmpint(1 + 1, ==, 2);
}

static void test_queue_leaks(void)
{
        start_flusher();        /* @leaky-start */
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/queue/empty", test_queue_empty);
        g_test_add_func("/queue/leaks", test_queue_leaks);
        return g_test_run();
}
