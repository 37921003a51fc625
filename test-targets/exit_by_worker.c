/* A worker ends the program with exit() while main waits on a condvar that
 * nothing will signal: the common shape of a server whose signal or control
 * thread calls exit().  Main is the process, not a thread it made: at exit
 * it is not a leak, and the exit status stays the program's 0.
 * leakscan-expect-at-exit: leaked=0
 * leakscan-expect: leaked=0
 */
#include "common.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;

static void *quitter(void *arg)
{
        (void) arg;
        name_self("quitter");
        ready_and_wait();       /* under --at-exit: exit(0) from this thread */
        return NULL;
}

int main(void)
{
        spawn_thread(quitter, NULL);
        pthread_mutex_lock(&lock);
        while (!done)
                pthread_cond_wait(&done_cond, &lock);
        pthread_mutex_unlock(&lock);
        return 1;
}
