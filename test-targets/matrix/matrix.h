/* The syscall matrix (tests/integration/test_matrix.py): programs that put
 * threads to sleep in one kind of blocking call each and record exactly
 * what the call returned, so that a run looked at by leakscan can be
 * compared with a direct run, field by field.
 *
 * A program is run as "PROG ROW [SCALE_MS]" and speaks a line protocol on
 * stdin/stdout, so that the comparison never depends on a time:
 *   1. it arranges the blocking state and waits (polling /proc, never a
 *      sleep) until every waiter is asleep in its call, in FIFO order;
 *   2. it prints "ready PID TID..." and reads one line from stdin: the
 *      harness runs leakscan meanwhile;
 *   3. it completes the scenario (wakes, drains, signals), joins the
 *      waiters and prints "result {JSON}": one object per waiter with what
 *      its call returned.  Fields whose name starts with "_" are
 *      information (measured times), not compared.
 * A row that ends by its own time (a sleep) prints "late" instead when the
 * call was over before the harness was done: the harness retries with a
 * longer SCALE_MS.
 *
 * Built without sanitizers and with frame pointers, like the test targets. */
#ifndef MATRIX_H
#define MATRIX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXW 3

struct waiter {
        int idx;
        pthread_t thread;
        _Atomic pid_t tid;
        _Atomic int done;       /* the call has returned */
        int served;             /* its rank among the waiters that returned */
        long elapsed_us;        /* around the call, CLOCK_MONOTONIC */
        long nivcsw;            /* involuntary switches before the call */
        int preempted;          /* the thread was preempted around the call */
        char res[768];
};

struct row {
        const char *name;
        long nr;                /* the syscall each waiter sleeps in */
        int waiters;            /* 0: one */
        int timed;              /* ends by its own time, SCALE_MS long */
        int sig;                /* a handled SIGUSR1 ends the call (EINTR) */
        void (*setup)(void);
        void (*wait)(struct waiter *w);
        int (*armed)(void);     /* main: the blocking state is complete */
        void (*prepare)(void);  /* main: after all sleep, before "ready" */
        void (*finish)(void);   /* main: after the harness is done */
        void (*unstick)(void);  /* sig rows: end a wait that swallowed EINTR */
};

static long scale_ms = 1000;
static _Atomic int served_count;
static _Atomic int handled;     /* SIGUSR1 handler runs */
static long received = -1;      /* bytes main read from a writer, when it did */

static inline void die(const char *what)
{
        fprintf(stderr, "matrix: %s: %s\n", what, strerror(errno));
        exit(99);
}

static inline long now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static inline const char *errname(int e)
{
        const char *s = strerrorname_np(e);
        return s ? s : "?";
}

/* Records a call's return: "ret", "errno" when it failed, then the row's own
 * fields (a JSON fragment starting with a comma, or nothing). */
static inline void record(struct waiter *w, long ret, int err, const char *fmt, ...)
{
        int n = snprintf(w->res, sizeof w->res, "{\"ret\":%ld", ret);
        if (ret < 0)
                n += snprintf(w->res + n, sizeof w->res - n, ",\"errno\":\"%s\"", errname(err));
        if (fmt && *fmt) {
                va_list ap;
                va_start(ap, fmt);
                n += vsnprintf(w->res + n, sizeof w->res - n, fmt, ap);
                va_end(ap);
        }
        snprintf(w->res + n, sizeof w->res - n, "}");
}

/* Marks the call over: its rank (FIFO rows) and the time around it.  Call
 * it right after the call, before anything else. */
static inline void returned(struct waiter *w, long t0)
{
        w->elapsed_us = now_us() - t0;
        struct rusage ru;
        getrusage(RUSAGE_THREAD, &ru);
        w->preempted = ru.ru_nivcsw != w->nivcsw;
        w->served = atomic_fetch_add(&served_count, 1);
        atomic_store(&w->done, 1);
}

static inline int read_proc(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -1;
        buf[n] = 0;
        return 0;
}

/* Whether thread tid is asleep (S) in syscall nr, as /proc shows it. */
static inline int asleep_in(pid_t tid, long nr)
{
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
        if (read_proc(path, buf, sizeof buf) < 0 || strtol(buf, NULL, 10) != nr ||
            !(buf[0] >= '0' && buf[0] <= '9'))
                return 0;
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int) tid);
        if (read_proc(path, buf, sizeof buf) < 0)
                return 0;
        char *close = strrchr(buf, ')');
        if (!close || close[2] != 'S')
                return 0;
        /* the same call still: the syscall line is read again */
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
        return read_proc(path, buf, sizeof buf) == 0 && strtol(buf, NULL, 10) == nr;
}

static struct waiter W[MAXW];
static int nwaiters = 1;

/* What each waiter is doing, for a wait that timed out. */
static inline void dump_waiters(void)
{
        for (int i = 0; i < nwaiters; i++) {
                char path[64], buf[4096];
                const char *files[] = { "syscall", "status", "wchan" };
                for (int f = 0; f < 3; f++) {
                        snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int) W[i].tid, files[f]);
                        if (read_proc(path, buf, sizeof buf) == 0)
                                fprintf(stderr, "waiter %d %s: %s\n", i, files[f], buf);
                }
        }
}

/* Whether thread tid sleeps (S) in some syscall. */
static inline int asleep_any(pid_t tid)
{
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int) tid);
        if (read_proc(path, buf, sizeof buf) < 0)
                return 0;
        char *close = strrchr(buf, ')');
        if (!close || close[2] != 'S')
                return 0;
        snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int) tid);
        return read_proc(path, buf, sizeof buf) == 0 && buf[0] >= '0' && buf[0] <= '9';
}

static inline void pause_ms(int ms)
{
        struct timespec ts = { 0, ms * 1000000L };
        nanosleep(&ts, NULL);
}

/* Waits for a condition (polled: the conditions are in /proc or another
 * thread's memory); gives up after 60 s, which is a failure. */
#define WAIT_FOR(cond, what) do { \
        long _deadline = now_us() + 60000000L; \
        while (!(cond)) { \
                if (now_us() > _deadline) { \
                        fprintf(stderr, "matrix: timed out waiting for %s\n", what); \
                        dump_waiters(); \
                        exit(98); \
                } \
                pause_ms(1); \
        } \
} while (0)

static void on_usr1(int sig)
{
        (void) sig;
        atomic_fetch_add(&handled, 1);
}

/* The handled signal of sig rows, sent while leakscan holds the waiter: a
 * child process (not seen by -p) watches the waiter's state and sends
 * SIGUSR1 the moment it is stopped by a tracer; when it never was, main
 * sends it after the harness is done. */
struct sigshare {
        _Atomic int stop, sent;
};
static struct sigshare *sigsh;
static pid_t sigchild;

/* Whether thread tid is held stopped by a tracer (state t). */
static inline int held(pid_t pid, pid_t tid)
{
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
        if (read_proc(path, buf, sizeof buf) < 0)
                return 0;
        char *close = strrchr(buf, ')');
        return close && close[2] == 't';
}

static void start_sig_watcher(pid_t tid)
{
        sigsh = mmap(NULL, sizeof *sigsh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sigsh == MAP_FAILED)
                die("mmap");
        pid_t parent = getpid();
        sigchild = fork();
        if (sigchild < 0)
                die("fork");
        if (sigchild == 0) {
                while (!atomic_load(&sigsh->stop)) {
                        if (held(parent, tid)) {
                                syscall(SYS_tgkill, parent, tid, SIGUSR1);
                                atomic_store(&sigsh->sent, 1);
                                _exit(0);
                        }
                        sched_yield();
                }
                _exit(0);
        }
}

/* Whether sig is pending for thread tid (its own queue or the process's). */
static inline int sig_pending(pid_t tid, int sig)
{
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/self/task/%d/status", (int) tid);
        if (read_proc(path, buf, sizeof buf) < 0)
                return 1;
        unsigned long long bit = 1ull << (sig - 1);
        for (const char *key = "SigPnd:"; key; key = strcmp(key, "SigPnd:") == 0 ? "ShdPnd:" : NULL) {
                char *p = strstr(buf, key);
                if (!p || strtoull(p + strlen(key), NULL, 16) & bit)
                        return 1;
        }
        return 0;
}

/* Sends the signal if the watcher did not; returns whether the watcher did. */
static int end_sig_watcher(pid_t tid)
{
        atomic_store(&sigsh->stop, 1);
        while (waitpid(sigchild, NULL, 0) < 0 && errno == EINTR)
                ;
        int by_watcher = atomic_load(&sigsh->sent);
        if (!by_watcher)
                syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
        return by_watcher;
}

static const struct row *row;

static void *waiter_main(void *arg)
{
        struct waiter *w = arg;
        atomic_store(&w->tid, (pid_t) gettid());
        if (row->sig) {
                sigset_t s;
                sigemptyset(&s);
                sigaddset(&s, SIGUSR1);
                pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        }
        struct rusage ru;
        getrusage(RUSAGE_THREAD, &ru);
        w->nivcsw = ru.ru_nivcsw;
        row->wait(w);
        if (!atomic_load(&w->done))
                returned(w, now_us());
        return NULL;
}

/* Runs the row named argv[1] of rows[]; see the protocol at the top. */
static int matrix_main(const struct row *rows, int argc, char **argv)
{
        if (argc < 2) {
                for (const struct row *r = rows; r->name; r++)
                        printf("%s\n", r->name);
                return 0;
        }
        for (row = rows; row->name && strcmp(row->name, argv[1]) != 0; row++)
                ;
        if (!row->name) {
                fprintf(stderr, "matrix: no row %s\n", argv[1]);
                return 2;
        }
        if (argc > 2)
                scale_ms = atol(argv[2]);
        nwaiters = row->waiters ? row->waiters : 1;

        /* SIGUSR1 (sig rows) and SIGUSR2 (signal waits) only where a row
         * unblocks them: main never takes them */
        struct sigaction sa = { .sa_handler = on_usr1 };
        sigaction(SIGUSR1, &sa, NULL);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR1);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
        signal(SIGPIPE, SIG_IGN);

        if (row->setup)
                row->setup();
        for (int i = 0; i < nwaiters; i++) {
                W[i].idx = i;
                int r = pthread_create(&W[i].thread, NULL, waiter_main, &W[i]);
                if (r != 0) {
                        errno = r;
                        die("pthread_create");
                }
                /* one at a time: the kernel queues them in this order */
                WAIT_FOR(atomic_load(&W[i].tid) && asleep_in(W[i].tid, row->nr), "the waiter to sleep");
                if (atomic_load(&W[i].done)) {
                        fprintf(stderr, "matrix: the call returned before it was looked at: %s\n", W[i].res);
                        return 97;
                }
        }
        if (row->armed)
                WAIT_FOR(row->armed(), "the blocking state");
        if (row->prepare)
                row->prepare();
        if (row->sig)
                start_sig_watcher(W[0].tid);
        printf("ready %d", (int) getpid());
        for (int i = 0; i < nwaiters; i++)
                printf(" %d", (int) W[i].tid);
        printf("\n");
        fflush(stdout);

        char line[64];
        if (!fgets(line, sizeof line, stdin))
                die("reading go");
        /* each waiter back asleep (a restarted call) or returned: what
         * the program does next must not race a call leakscan restarts */
        for (int i = 0; i < nwaiters; i++)
                WAIT_FOR(atomic_load(&W[i].done) || asleep_any(W[i].tid), "the waiter to settle");
        if (row->timed) {
                for (int i = 0; i < nwaiters; i++)
                        if (atomic_load(&W[i].done) && W[i].elapsed_us >= scale_ms * 1000) {
                                printf("late\n");
                                return 3;
                        }
        }
        int by_watcher = -1, swallowed = 0;
        if (row->sig) {
                by_watcher = end_sig_watcher(W[0].tid);
                /* the handler runs, or the signal was lost: the waiter's
                 * call returned to its code (a pending SIGUSR1, unblocked
                 * there, would have run first), or it is asleep in its call
                 * with nothing pending */
                WAIT_FOR(atomic_load(&handled) > 0 || atomic_load(&W[0].done) ||
                         (asleep_in(W[0].tid, row->nr) && !sig_pending(W[0].tid, SIGUSR1)), "the handler");
                /* the handler ran: the call returns EINTR, or it was
                 * re-entered and sleeps again (the EINTR was swallowed);
                 * or the signal was lost ("handled":0) */
                WAIT_FOR(atomic_load(&W[0].done) || asleep_in(W[0].tid, row->nr), "the call to end");
                if (!atomic_load(&W[0].done)) {
                        swallowed = 1;
                        row->unstick();
                }
        }
        if (row->finish)
                row->finish();
        for (int i = 0; i < nwaiters; i++)
                pthread_join(W[i].thread, NULL);

        printf("result {\"row\":\"%s\",\"waiters\":[", row->name);
        for (int i = 0; i < nwaiters; i++)
                printf("%s%s", i ? "," : "", W[i].res);
        printf("]");
        if (nwaiters > 1) {
                printf(",\"order\":[");
                for (int i = 0; i < nwaiters; i++)
                        printf("%s%d", i ? "," : "", W[i].served);
                printf("]");
        }
        if (received >= 0)
                printf(",\"received\":%ld", received);
        if (row->sig)
                printf(",\"handled\":%d,\"_by_watcher\":%d,\"_swallowed\":%d", atomic_load(&handled),
                       by_watcher, swallowed);
        printf("}\n");
        fflush(stdout);
        return 0;
}

#endif
