/* Outlives a killed leakscan.  "create": prints "ready PID", then, once a
 * line comes on stdin (sent after leakscan is gone: a condition, not a
 * time), creates and joins a thread and prints what pthread_create
 * returned (0, not ENOSYS, when a listener still answers).  "exit": starts
 * a thread that sleeps in short steps (so that --at-exit holds the exit
 * through its grace period), prints "exiting PID" and returns from main. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *work(void *arg)
{
        (void) arg;
        return NULL;
}

static void *nap_forever(void *arg)
{
        (void) arg;
        for (;;)
                usleep(10000);
        return NULL;
}

int main(int argc, char **argv)
{
        setvbuf(stdout, NULL, _IONBF, 0);
        pthread_t t;
        if (argc > 1 && strcmp(argv[1], "exit") == 0) {
                pthread_create(&t, NULL, nap_forever, NULL);
                printf("exiting %d\n", (int) getpid());
                return 0;
        }
        printf("ready %d\n", (int) getpid());
        char line[16];
        if (!fgets(line, sizeof line, stdin))
                return 2;
        int r = pthread_create(&t, NULL, work, NULL);
        printf("pthread_create %d\n", r);
        if (r == 0)
                pthread_join(t, NULL);
        printf("done\n");
        return 0;
}
