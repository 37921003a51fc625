/* Benchmark target: a busy process.  The main thread and N-1 other threads
 * spin on the CPU (in a function of their own, a few frames deep), and M
 * threads sleep in a pipe read: what a snapshot of a server under load
 * finds; F more threads run and nap in turn (200 us spinning, a 100 us
 * nanosleep), as event loops with short timeouts do; K more run in the
 * kernel all along (read(2) of 1 GiB from /dev/zero in a loop: a perf
 * sample of user time never comes).  bench/sample_ab.py measures reading
 * the running ones with a perf sample against stopping them.
 * Usage: busy N M [F [K]]   (prints "ready PID" once every thread runs or sleeps) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static atomic_int started;
static int fds[2];

static __attribute__((noinline)) unsigned long busy_work(unsigned long x)
{
        for (int i = 0; i < 1000; i++)
                x = x * 6364136223846793005ul + 1442695040888963407ul;
        return x;
}

static __attribute__((noinline)) void busy_loop(void)
{
        volatile unsigned long sink = 1;
        atomic_fetch_add(&started, 1);
        for (;;)
                sink = busy_work(sink);
}

static void *spinner(void *arg)
{
        (void) arg;
        busy_loop();
        return NULL;
}

static __attribute__((noinline)) void flicker_loop(void)
{
        volatile unsigned long sink = 1;
        atomic_fetch_add(&started, 1);
        for (;;) {
                struct timespec a, b, nap = { 0, 100000 };
                clock_gettime(CLOCK_MONOTONIC, &a);
                do {
                        sink = busy_work(sink);
                        clock_gettime(CLOCK_MONOTONIC, &b);
                } while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 200000);
                nanosleep(&nap, NULL);
        }
}

static void *flicker(void *arg)
{
        (void) arg;
        flicker_loop();
        return NULL;
}

/* One 1 GiB read after another into memory of its own: the pages are
 * cleared by the kernel, so nearly all of the thread's time is system
 * time. */
static void *in_kernel(void *arg)
{
        (void) arg;
        size_t len = 1ul << 30;
        int fd = open("/dev/zero", O_RDONLY);
        char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        atomic_fetch_add(&started, 1);
        if (fd < 0 || buf == MAP_FAILED)
                return NULL;
        for (;;)
                (void) !read(fd, buf, len);
        return NULL;
}

static void *sleeper(void *arg)
{
        (void) arg;
        char c;
        atomic_fetch_add(&started, 1);
        (void) !read(fds[0], &c, 1);
        return NULL;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 4, m = argc > 2 ? atoi(argv[2]) : 16, f = argc > 3 ? atoi(argv[3]) : 0;
        int k = argc > 4 ? atoi(argv[4]) : 0;
        if (pipe(fds) < 0)
                return 1;
        pthread_t t;
        for (int i = 1; i < n; i++)
                pthread_create(&t, NULL, spinner, NULL);
        for (int i = 0; i < m; i++)
                pthread_create(&t, NULL, sleeper, NULL);
        for (int i = 0; i < f; i++)
                pthread_create(&t, NULL, flicker, NULL);
        for (int i = 0; i < k; i++)
                pthread_create(&t, NULL, in_kernel, NULL);
        while (atomic_load(&started) < n - 1 + m + f + k)
                usleep(1000);
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        busy_loop();
}
