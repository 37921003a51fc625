/* Leaks one thread blocked in read() on a pipe nobody writes, created by
 * start_reader at the marked line; run by the exec chain scripts. */
#include <pthread.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg)
{
        (void) arg;
        char c;
        (void) !read(fds[0], &c, 1);
        return NULL;
}

static void start_reader(void)
{
        pthread_t t;
        pthread_create(&t, NULL, reader, NULL); /* @reader-spawn */
}

int main(void)
{
        if (pipe(fds) < 0)
                return 2;
        start_reader();
        usleep(20000);
        return 0;
}
