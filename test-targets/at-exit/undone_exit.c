/* An exit_group that a signal undoes before leakscan has received it, so
 * that glibc's _exit falls back to exit(0) from the main thread.  Prints
 * "ready", waits for a line on stdin, then returns from main; the test
 * stops leakscan (SIGSTOP) before sending that line, so that the exit_group
 * waits unreceived, and sends SIGUSR1 (a handler without SA_RESTART) once
 * the main thread is in it.  The other thread sleeps in pause() with
 * SIGUSR1 blocked.  Directly the process ends with status 0; under
 * leakscan the fallback exit must be held like the exit_group it replaces:
 * the sleeper reported, status 0, and no main thread gone alone with the
 * sleeper running on. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void on_usr1(int sig)
{
        (void) sig;
}

static void *sleeper(void *arg)
{
        for (;;)
                pause();
        return arg;
}

int main(void)
{
        struct sigaction sa = { .sa_handler = on_usr1 };        /* no SA_RESTART */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, NULL);
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        /* the sleeper inherits the blocked SIGUSR1: only main can take it */
        pthread_sigmask(SIG_BLOCK, &usr1, NULL);
        pthread_t t;
        pthread_create(&t, NULL, sleeper, NULL);
        pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
        printf("ready\n");
        fflush(stdout);
        char line[16];
        if (!fgets(line, sizeof line, stdin))
                return 2;
        return 0;
}
