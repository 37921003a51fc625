/* A writer on a full pipe that nobody reads.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread writer state=pipe-write syscall=write fd_kind=pipe verdict=idle top=write_all line=@write
 */
#include "common.h"

static int fds[2];

static NOINLINE void write_all(void)
{
        static char buf[1 << 20];
        for (;;)
                (void) !write(fds[1], buf, sizeof buf); /* @write */
}

static void *writer(void *arg)
{
        (void) arg;
        name_self("writer");
        write_all();
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        spawn_thread(writer, NULL);
        ready_and_wait();
}
