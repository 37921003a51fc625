/* A detached thread prints a line every 10 ms; main returns after 50 ms, and
 * its exit handler prints the program's last line.  Directly the process
 * ends right after that line: at most the one tick that raced with the exit
 * follows it.  Under --at-exit the ticker must print nothing once the exit
 * began (its next write is held and never made), and is reported. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *tick(void *arg)
{
        (void) arg;
        for (int i = 0;; i++) {
                char line[32];
                int n = snprintf(line, sizeof line, "tick %d\n", i);
                (void) !write(1, line, (size_t) n);     /* @tick-write */
                usleep(10000);
        }
        return NULL;
}

static void last_words(void)
{
        (void) !write(1, "exit handlers ran\n", 18);
}

int main(void)
{
        atexit(last_words);
        pthread_t t;
        pthread_create(&t, NULL, tick, NULL);
        pthread_detach(t);
        usleep(50000);
        return 0;
}
