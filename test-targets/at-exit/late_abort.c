/* A detached thread that aborts 200 ms after main returns: directly the
 * process has ended by then (status 0).  (A race the program itself runs:
 * main must reach exit_group within the nap.  It was 20 ms, and beside two
 * CPU hogs the abort came first 1 run in 20, under leakscan too.)  Under --at-exit the thread runs on
 * through the grace period in quarantine: its abort (tgkill) is held and
 * never made, the thread is reported with that call, and the program ends
 * with its own status 0.
 *
 * "linger": a second detached thread naps in 10 ms steps for 10 s, so that
 * the grace period lasts while the first one is held (a kill -9 of leakscan
 * then finds a held thread).  It prints its pid first, for a test that must
 * wait for the program after leakscan is gone.  main names the threads
 * ("aborter", "linger"; a thread that named itself would make a call the
 * quarantine holds) so that a test can find the held one in /proc. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sem_t started;

static void *abort_later(void *arg)
{
        (void) arg;
        sem_post(&started);
        usleep(200000);
        abort();
}

static void *nap(void *arg)
{
        (void) arg;
        for (int i = 0; i < 1000; i++)
                usleep(10000);
        return NULL;
}

int main(int argc, char **argv)
{
        pthread_t t;
        if (argc > 1 && strcmp(argv[1], "linger") == 0) {
                printf("pid %d\n", (int) getpid());
                fflush(stdout);
                pthread_create(&t, NULL, nap, NULL);
                pthread_setname_np(t, "linger");
                pthread_detach(t);
        }
        /* in its nap when the exit begins, not still starting: the
         * exit's snapshot decides how it is reported */
        sem_init(&started, 0, 0);
        pthread_create(&t, NULL, abort_later, NULL);
        pthread_setname_np(t, "aborter");
        pthread_detach(t);
        while (sem_wait(&started) < 0)
                ;
        return 0;
}
