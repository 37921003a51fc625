/* Benchmark target for scale: N threads, each blocked on an object of its
 * own (half on a pipe of their own, half on a condition variable of their
 * own on the heap), so that every per-object lookup of leakscan runs N
 * times.  Usage: private-waits N  (prints "ready PID" once all wait) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
struct cv {
        pthread_mutex_t m;
        pthread_cond_t c;
};

static void *reader(void *arg)
{
        int *fd = arg;
        char c;
        return read(fd[0], &c, 1) < 0 ? NULL : arg;
}

static void *waiter(void *arg)
{
        struct cv *v = arg;
        pthread_mutex_lock(&v->m);
        pthread_cond_wait(&v->c, &v->m);
        return NULL;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 100;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 64 * 1024);
        for (int i = 0; i < n; i++) {
                pthread_t t;
                if (i % 2) {
                        int *fd = malloc(2 * sizeof *fd);
                        if (!fd || pipe(fd) < 0)
                                return 1;
                        pthread_create(&t, &at, reader, fd);
                } else {
                        struct cv *v = calloc(1, sizeof *v);
                        if (!v)
                                return 1;
                        pthread_create(&t, &at, waiter, v);
                }
        }
        sleep(1);
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
