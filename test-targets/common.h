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

/* One look at the other threads: how many of them are not asleep, and a
 * sum over the sleeping ones of TID and context switches (any change in
 * which threads sleep, or any run of one of them, changes it). */
static inline void others_look(int *ret_awake, unsigned long long *ret_sum)
{
        char path[300], buf[4096];
        int awake = 0;
        unsigned long long sum = 0;
        DIR *d = opendir("/proc/self/task");
        struct dirent *de;
        while (d && (de = readdir(d))) {
                int tid = atoi(de->d_name);
                if (de->d_name[0] == '.' || tid == (int) gettid())
                        continue;
                snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
                FILE *f = fopen(path, "r");
                if (!f)
                        continue;       /* ended: nothing to wait for */
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[n] = 0;
                const char *st = strstr(buf, "\nState:\t");
                if (!st)
                        continue;
                if (st[8] != 'S' && st[8] != 'D') {
                        awake++;
                        continue;
                }
                const char *v = strstr(buf, "\nvoluntary_ctxt_switches:");
                const char *nv = strstr(buf, "\nnonvoluntary_ctxt_switches:");
                unsigned long long switches = (v ? strtoull(strchr(v, ':') + 1, NULL, 10) : 0) +
                                              (nv ? strtoull(strchr(nv, ':') + 1, NULL, 10) : 0);
                sum += (unsigned long long) tid * 1000003ull + switches;
        }
        if (d)
                closedir(d);
        *ret_awake = awake;
        *ret_sum = sum;
}

/* Waits, for as long as it takes, until the other threads are quiet: all
 * asleep but `busy` (threads that never sleep, a spinner), twice in a row
 * with none of the sleeping ones having run in between.  Every sleeping
 * thread was then asleep at the same instant (the end of the first look)
 * and none had been woken (a woken thread is R, or has run): each is in
 * the wait the target set up for it, not in a barrier or a lock on the
 * way there.  (A thread in a timed loop may make this take a few tries.) */
static inline void wait_others_quiet(int busy)
{
        int awake = 0, before_awake = -1;
        unsigned long long sum = 0, before = 0;
        for (;;) {
                others_look(&awake, &sum);
                if (awake <= busy && before_awake == awake && sum == before)
                        return;
                before_awake = awake <= busy ? awake : -1;
                before = sum;
                usleep(1000);
        }
}

/* Tells the harness that the threads are set up, then parks main until the
 * harness kills the target.  Under "leakscan --at-exit" (LEAKSCAN_TARGET_EXIT
 * set) it instead returns from the program once the other threads are quiet
 * (wait_others_quiet: however long that takes; the test's timeout is the
 * bound), so that they are alive, in their waits, at exit.  `busy` threads
 * never sleep (ready_and_wait_busy). */
static inline void ready_and_wait_busy(int busy)
{
        if (getenv("LEAKSCAN_TARGET_EXIT")) {
                wait_others_quiet(busy);
                printf("exiting %d\n", (int) getpid());
                exit(0);
        }
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}

static inline void ready_and_wait(void)
{
        ready_and_wait_busy(0);
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
