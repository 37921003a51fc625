/* Threads whose names no report format may pass through raw: one named
 * with the bytes 0xff 0xfe (not UTF-8), one with the characters JSON, XML
 * and DOT quote.  Both stay blocked; a third, "ignoreme", is for
 * --ignore-name.  For tests/integration/test_formats.py. */
#include "common.h"

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int fds[2];

static NOINLINE void wait_for_lock(void)
{
        pthread_mutex_lock(&held_lock);
        pthread_mutex_unlock(&held_lock);
}

static void *invalid_utf8(void *arg)
{
        (void) arg;
        name_self("\xff\xfe" "bad");
        wait_for_lock();
        return NULL;
}

static NOINLINE void wait_for_byte(void)
{
        char c;
        (void) !read(fds[0], &c, 1);
}

static void *markup(void *arg)
{
        (void) arg;
        name_self("q\"<&>'\\\t");
        wait_for_byte();
        return NULL;
}

static void *ignored(void *arg)
{
        (void) arg;
        name_self("ignoreme");
        pthread_mutex_lock(&idle_lock);
        pthread_cond_wait(&never, &idle_lock);
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        pthread_mutex_lock(&held_lock);
        spawn_thread(invalid_utf8, NULL);
        spawn_thread(markup, NULL);
        spawn_thread(ignored, NULL);
        ready_and_wait();
}
