/* Shared by the test targets: each target sets up threads in a known state,
 * prints "ready" on stdout, and then waits in main until it is killed.
 *
 * What leakscan must find is declared at the top of each target, in lines
 * that tests/integration/check_target.py reads:
 *   leakscan-expect: leaked=N
 *   leakscan-expect: thread NAME key=value ...
 * with keys state, verdict, leaked, timeout, syscall, top (function on top of
 * the stack), line (a marker: the source line holding the comment "@MARKER"),
 * count (how many threads of that name), fd_kind (pipe/socket), created
 * (FUNC@MARKER: the function and line that created the thread, --at-exit),
 * owner and joined (the NAME of the thread holding the lock or being
 * joined; owner=gone: it has exited), object (the symbol of the object
 * waited on), cycle (the length of the deadlock cycle the thread is on),
 * value (a semaphore's value, an rwlock's readers), region and in (where the
 * object lies: global/stack/heap, and in which function's frame), atexit-verdict (the
 * verdict under --at-exit, where the exiting main thread can help no one),
 * reach (pid mode: whether the object waited on can still be reached:
 * none/unknown/reachable/unreachable).
 * "leakscan-expect-at-exit: leaked=N" opts a target into the --at-exit run
 * of the harness, where every thread alive at exit but the exiting one
 * counts as leaked. */
#ifndef TEST_TARGETS_COMMON_H
#define TEST_TARGETS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
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

/* A macro, not a function, so that the stack that created the thread (what
 * --at-exit reports as "created by") is the caller's, at the caller's line. */
#define spawn_thread(fn, arg) ({ \
        pthread_t _t; \
        int _r = pthread_create(&_t, NULL, (fn), (arg)); \
        if (_r != 0) { \
                errno = _r; \
                die("pthread_create"); \
        } \
        _t; \
})

/* Whether every thread but the caller sleeps (S or D): they have reached the
 * waits the target set up. */
static inline int others_asleep(void)
{
        char path[300], buf[512];
        int ok = 1;
        DIR *d = opendir("/proc/self/task");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || atoi(de->d_name) == (int) gettid())
                        continue;
                snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
                FILE *f = fopen(path, "r");
                if (!f)
                        continue;
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[n] = 0;
                char *close = strrchr(buf, ')');
                if (close && close[2] != 'S' && close[2] != 'D')
                        ok = 0;
        }
        if (d)
                closedir(d);
        return ok;
}

/* Tells the harness that the threads are set up, then parks main until the
 * harness kills the target.  Under "leakscan --at-exit" (LEAKSCAN_TARGET_EXIT
 * set) it instead returns from the program once the other threads sleep (or
 * after 2 s: a busy thread never will), so that they are alive at exit. */
static inline void ready_and_wait(void)
{
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                for (int i = 0; i < 200 && !others_asleep(); i++)
                        usleep(10000);
                usleep(50000);
                printf("exiting %d\n", (int) getpid());
                exit(0);
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}

/* As ready_and_wait, but main then joins thread t instead of pausing, so
 * that it waits on t for good (wait-for targets: main cannot help). */
static inline void ready_and_join(pthread_t t)
{
        if (getenv("LEAKSCAN_TARGET_EXIT"))
                ready_and_wait();
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        pthread_join(t, NULL);
        for (;;)
                pause();
}

#endif
