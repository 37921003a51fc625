/* A pipe whose only writer is stuck for good: the writer thread waits on a
 * mutex its owner left with; the reader can never get data.
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=2
 * leakscan-expect: thread reader state=pipe-read verdict=orphaned fd_kind=pipe top=read_reply line=@read
 * leakscan-expect: thread writer state=mutex verdict=orphaned owner=gone object=reply_lock
 */
#include "common.h"

static int fds[2];
static pthread_mutex_t reply_lock = PTHREAD_MUTEX_INITIALIZER;

static void *quitter(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&reply_lock);
        return NULL;
}

static void *writer(void *arg)
{
        (void) arg;
        name_self("writer");
        pthread_mutex_lock(&reply_lock);
        (void) !write(fds[1], "x", 1);
        return NULL;
}

static NOINLINE void read_reply(void)
{
        char c;
        (void) !read(fds[0], &c, 1); /* @read */
}

static void *reader(void *arg)
{
        (void) arg;
        name_self("reader");
        read_reply();
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        pthread_join(spawn_thread(quitter, NULL), NULL);
        spawn_thread(writer, NULL);
        ready_and_join(spawn_thread(reader, NULL));
}
