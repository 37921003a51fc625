/* Shared by the test targets: each target sets up threads in a known state,
 * prints "ready" on stdout, and then waits in main until it is killed.
 *
 * What leakscan must find is declared at the top of each target, in lines
 * that tests/integration/check_target.py reads:
 *   leakscan-expect: leaked=N
 *   leakscan-expect: thread NAME key=value ...
 * with keys state, verdict, leaked, timeout, syscall, top (function on top of
 * the stack), line (a marker: the source line holding the comment "@MARKER"),
 * count (how many threads of that name), fd_kind (pipe/socket). */
#ifndef TEST_TARGETS_COMMON_H
#define TEST_TARGETS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static inline void die(const char *what)
{
        perror(what);
        exit(99);
}

static inline void name_self(const char *name)
{
        pthread_setname_np(pthread_self(), name);
}

static inline pthread_t start_thread(void *(*fn)(void *), void *arg)
{
        pthread_t t;
        int r = pthread_create(&t, NULL, fn, arg);
        if (r != 0) {
                errno = r;
                die("pthread_create");
        }
        return t;
}

/* Tells the harness that the threads are set up, then parks main until the
 * harness kills the target. */
static inline void ready_and_wait(void)
{
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}

#endif
