/* A thread waiting for a child process that never exits.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread reaper state=wait-child verdict=idle top=reap_child line=@wait
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common.h"

static pid_t child;

static NOINLINE void reap_child(void)
{
        waitpid(child, NULL, 0); /* @wait */
}

static void *reaper(void *arg)
{
        (void) arg;
        name_self("reaper");
        reap_child();
        return NULL;
}

int main(void)
{
        child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        spawn_thread(reaper, NULL);
        ready_and_wait();
}
