/* A thread in an uninterruptible (killable) sleep, shown as D: it vfork()ed a
 * child that never execs nor exits, and the kernel holds the parent thread
 * until it does.  Such a thread does not stop for ptrace: leakscan must not
 * hang on it and must leave it as it was.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread vforker state=disk-io verdict=idle
 * leakscan-args: --stop-timeout=300ms
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "common.h"

static void *vforker(void *arg)
{
        (void) arg;
        name_self("vforker");
        pid_t pid = vfork();
        if (pid == 0) {
                /* only raw syscalls in a vfork child */
                syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                for (;;)
                        syscall(SYS_pause);
        }
        return NULL;
}

int main(void)
{
        spawn_thread(vforker, NULL);
        ready_and_wait();
}
