/* A detached thread that aborts 20 ms after main returns: directly the
 * process has ended by then (status 0).  Under --at-exit, without a
 * quarantine of the grace period, it aborts while its exit is held: the
 * report must then say that its threads could not be checked, and no
 * failure of leakscan's may take the place of the program's result. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *abort_later(void *arg)
{
        (void) arg;
        usleep(20000);
        abort();
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, abort_later, NULL);
        pthread_detach(t);
        return 0;
}
