/* A reader on a pipe whose write end only a child process holds, while main
 * joins the reader: nobody in this process can write, but the child can, so
 * the wait is idle, not orphaned (a program reading what a helper process or
 * a shell pipeline feeds it).
 * leakscan-expect: leaked=0
 * leakscan-expect: thread reader state=pipe-read syscall=read fd_kind=pipe verdict=idle top=read_request line=@read
 */
#include <sys/prctl.h>

#include "common.h"

static int fds[2];

static NOINLINE void read_request(void)
{
        char buf[64];
        (void) !read(fds[0], buf, sizeof buf); /* @read */
}

static void *reader(void *arg)
{
        (void) arg;
        name_self("reader");
        read_request();
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        pid_t child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                /* holds the write end, and goes when the target does */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() == 1)
                        _exit(0);
                close(fds[0]);
                for (;;)
                        pause();
        }
        close(fds[1]);
        ready_and_join(spawn_thread(reader, NULL));
}
