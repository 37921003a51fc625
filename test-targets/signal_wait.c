/* A thread in sigwait() for a signal nobody sends.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread sigwaiter state=signal-wait syscall=rt_sigtimedwait timeout=false verdict=idle top=wait_for_signal line=@sigwait
 */
#include "common.h"

static NOINLINE void wait_for_signal(void)
{
        sigset_t set;
        int sig;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigwait(&set, &sig); /* @sigwait */
}

static void *sigwaiter(void *arg)
{
        (void) arg;
        name_self("sigwaiter");
        wait_for_signal();
        return NULL;
}

int main(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        spawn_thread(sigwaiter, NULL);
        ready_and_wait();
}
