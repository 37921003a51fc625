/* A reader on a pipe whose write end nobody writes to.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread reader state=pipe-read syscall=read fd_kind=pipe verdict=idle atexit-verdict=orphaned top=read_message line=@read created=main@spawn
 */
#include "common.h"

static int fds[2];

static NOINLINE void read_message(void)
{
        char buf[64];
        (void) !read(fds[0], buf, sizeof buf); /* @read */
}

static void *reader(void *arg)
{
        (void) arg;
        name_self("reader");
        read_message();
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        spawn_thread(reader, NULL); /* @spawn */
        ready_and_wait();
}
