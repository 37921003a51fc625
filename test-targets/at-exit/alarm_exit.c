/* A 5 ms ITIMER_REAL with a SIGALRM handler that does not restart calls,
 * one background thread napping in short steps (so that --at-exit holds the
 * exit through its grace period, under a shower of signals), and a return
 * from main: the held exit_group must survive the signals, and the process
 * end with its own status (issue 12, item 1).  Prints "bye" just before. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
        (void) sig;
        ticks++;
}

static void *nap_forever(void *arg)
{
        (void) arg;
        for (;;)
                usleep(2000);
        return NULL;
}

int main(void)
{
        struct sigaction sa = { .sa_handler = on_alarm };       /* no SA_RESTART */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        pthread_t t;
        pthread_create(&t, NULL, nap_forever, NULL);
        pthread_detach(t);
        usleep(20000);
        printf("bye\n");
        return 0;
}
