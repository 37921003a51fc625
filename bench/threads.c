/* Benchmark target: N threads in assorted states (mutex, condvar, semaphore,
 * pipe read, poll, sleep), plus one "gap" thread that wakes every 100 us and
 * records in a shared file the longest gap between its iterations: how long
 * a tool kept the process stopped.
 * Usage: threads N GAPFILE   (prints "ready PID" once all threads exist) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int fds[2];
static volatile uint64_t *max_gap_us;

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void __attribute__((noinline)) block_in(int kind)
{
        char c;
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        switch (kind) {
        case 0: pthread_mutex_lock(&held); break;
        case 1: pthread_mutex_lock(&cond_lock); pthread_cond_wait(&cond, &cond_lock); break;
        case 2: sem_wait(&sem); break;
        case 3: (void) !read(fds[0], &c, 1); break;
        case 4: poll(&p, 1, -1); break;
        default: sleep(3600); break;
        }
}

static void *worker(void *arg)
{
        for (;;)
                block_in((int) (intptr_t) arg);
        return NULL;
}

static void *gap(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "gap");
        uint64_t last = now_us();
        for (;;) {
                usleep(100);
                uint64_t t = now_us();
                if (t - last > *max_gap_us)
                        *max_gap_us = t - last;
                last = t;
        }
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: threads N GAPFILE\n");
                return 2;
        }
        int n = atoi(argv[1]);
        int fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || ftruncate(fd, 4096) < 0)
                return 1;
        max_gap_us = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (max_gap_us == MAP_FAILED || pipe(fds) < 0)
                return 1;
        pthread_mutex_lock(&held);
        sem_init(&sem, 0, 0);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);    /* 1000 threads, modest memory */
        for (int i = 0; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, &attr, worker, (void *) (intptr_t) (i % 6)) != 0)
                        return 1;
        }
        pthread_t t;
        pthread_create(&t, NULL, gap, NULL);
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
