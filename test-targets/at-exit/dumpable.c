/* Makes itself non-dumpable (PR_SET_DUMPABLE 0), leaks a thread and
 * returns 0: run by a user without CAP_SYS_PTRACE, leakscan cannot stop its
 * threads, says why in the report, and returns the program's status. */
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *nap_forever(void *arg)
{
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(void)
{
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        pthread_t t;
        pthread_create(&t, NULL, nap_forever, NULL);
        usleep(10000);
        return 0;
}
