/* What a thread could do after its process began to exit, that the direct
 * run never lets it do (issue 16 item 3).  Each mode ends the same way
 * directly, every time: the exit_group kills the thread first.  Under
 * --at-exit it must too, with the thread reported as it stood when the
 * exit began.
 *
 *   condvar    a destructor signals a condition variable and frees the
 *              configuration; the waiter wakes, naps 200 ms, reads it: a
 *              crash (SIGSEGV) if it ever runs that long.  Status 0.
 *              (Directly this is a race the program itself runs: main
 *              must reach exit_group within the nap after the
 *              destructor.  20 ms was short on a loaded machine, where a
 *              preempted main can wait that long for a CPU while the
 *              waiter, woken from its nap, gets one first.)
 *   semaphore  the same with sem_post; main returns 7.
 *   futex      a raw futex waiter whose word a destructor changes without
 *              a wake: it sleeps on directly; woken by any stop, it would
 *              see the word changed and read the freed configuration.
 *   epoll      an epoll_wait without timeout, never ready: any end of the
 *              wait (an EINTR) reads the freed configuration.
 *   ualarm     an atexit handler arms ualarm(50 ms) with SIGALRM's default
 *              action; a second thread naps in 1 ms steps, which keeps
 *              an exit under leakscan held through its grace.  Directly the
 *              process has ended long before the alarm: status 0.
 *   sender     goleak's classic leak: a thread writes 1 MiB into a pipe
 *              nobody reads, once (no retry on a short write).  It must be
 *              reported at exit, in its write.
 *   waiters    two threads wait on one condition variable for ever: both
 *              reported as condition variable waiters.
 *   shared     a thread naps 20 ms, then stores 1 into memory shared
 *              (MAP_SHARED) with a child process, which prints
 *              "shared=N" once the parent is gone: directly "shared=0".
 *              The remaining window of --at-exit (docs/RELIABILITY.md): a
 *              thread running or in a timed wait at the exit runs on
 *              through the grace, and a store is no call to hold.
 *   forkhold   prints "pid N" (its own), forks a child that naps in a
 *              thread and returns (its exit held through the grace under
 *              --follow-forks), and returns once the child is in its
 *              exit_group: the main process is reaped long before the
 *              child's exit is judged.
 *   napper     only a thread napping in 1 ms steps (a timed wait, as a
 *              pool's idle worker): a rule that ignores it means the exit
 *              waits no grace for it (issue 16 item 6).
 *
 * Every thread is known to be in place before main returns: main waits
 * for the condition (its /proc state), never for a time. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* From its wake-up to the crash of a waiter woken by a destructor: the
 * margin main has to reach exit_group directly (see condvar above) */
#define WAKE_TO_CRASH_MS 200

struct config {
        int value;
};

static struct config *config;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int signalled;
static sem_t sem;
static uint32_t word;
static int pipe_fds[2];
static const char *mode = "";

static void nap_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int use_config(void)
{
        return config->value;   /* after the destructor: NULL */
}

static void *condvar_waiter(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        while (!signalled)
                pthread_cond_wait(&changed, &lock);
        pthread_mutex_unlock(&lock);
        nap_ms(WAKE_TO_CRASH_MS);
        return (void *) (intptr_t) use_config();
}

static void *sem_waiter(void *arg)
{
        (void) arg;
        while (sem_wait(&sem) < 0)
                ;
        nap_ms(WAKE_TO_CRASH_MS);
        return (void *) (intptr_t) use_config();
}

static void *futex_waiter(void *arg)
{
        (void) arg;
        while (__atomic_load_n(&word, __ATOMIC_ACQUIRE) == 0)
                syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        return (void *) (intptr_t) use_config();
}

static void *epoll_waiter(void *arg)
{
        (void) arg;
        int ep = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN }, out;
        epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[0], &ev);
        epoll_wait(ep, &out, 1, -1);
        return (void *) (intptr_t) use_config();
}

static void *napper(void *arg)
{
        (void) arg;
        for (;;)
                nap_ms(1);
        return NULL;
}

static void *sender(void *arg)
{
        (void) arg;
        size_t n = 1 << 20;
        char *buf = calloc(1, n);
        ssize_t sent = write(pipe_fds[1], buf, n);      /* once: a short write ends it */
        free(buf);
        return (void *) (intptr_t) sent;
}

static volatile int *shared;

static void *shared_storer(void *arg)
{
        (void) arg;
        nap_ms(20);
        *shared = 1;
        for (;;)
                nap_ms(1);
        return NULL;
}

/* The child of mode shared: prints the shared word once its parent has
 * ended (the pipe's write end, which only the parent holds, closes). */
static void watch_shared(void)
{
        char c;
        close(pipe_fds[1]);
        while (read(pipe_fds[0], &c, 1) > 0)
                ;
        dprintf(1, "shared=%d\n", *shared);
        _exit(0);
}

static void *forever_waiter(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&lock);
        for (;;)
                pthread_cond_wait(&changed, &lock);
        return NULL;
}

__attribute__((destructor)) static void tear_down(void)
{
        struct config *c = config;
        if (strcmp(mode, "condvar") == 0) {
                pthread_mutex_lock(&lock);
                signalled = 1;
                pthread_cond_signal(&changed);
                pthread_mutex_unlock(&lock);
        } else if (strcmp(mode, "semaphore") == 0) {
                sem_post(&sem);
        } else if (strcmp(mode, "futex") == 0) {
                __atomic_store_n(&word, 1, __ATOMIC_RELEASE);  /* no wake */
        }
        config = NULL;
        free(c);
}

static void arm_alarm(void)
{
        ualarm(50000, 0);
}

/* Waits until thread tid sleeps (state S) in /proc: in its wait. */
static void wait_asleep(pid_t tid)
{
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int) tid);
        for (;;) {
                FILE *f = fopen(path, "r");
                size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
                if (f)
                        fclose(f);
                buf[n] = 0;
                char *p = strrchr(buf, ')');
                if (p && p[1] == ' ' && p[2] == 'S')
                        return;
                sched_yield();
        }
}

static pid_t started_tid;
static sem_t started;

struct start {
        void *(*fn)(void *);
};

static void *trampoline(void *arg)
{
        void *(*fn)(void *) = ((struct start *) arg)->fn;
        started_tid = (pid_t) syscall(SYS_gettid);
        sem_post(&started);
        return fn(NULL);
}

/* Starts fn on a detached thread and waits until it sleeps. */
static void start(void *(*fn)(void *), const char *name, int wait)
{
        static struct start s;
        s.fn = fn;
        pthread_t t;
        pthread_create(&t, NULL, trampoline, &s);
        pthread_setname_np(t, name);
        pthread_detach(t);
        while (sem_wait(&started) < 0)
                ;
        if (wait)
                wait_asleep(started_tid);
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return 2;
        mode = argv[1];
        config = calloc(1, sizeof *config);
        sem_init(&sem, 0, 0);
        sem_init(&started, 0, 0);
        if (pipe(pipe_fds) < 0)
                return 2;
        if (strcmp(mode, "condvar") == 0) {
                start(condvar_waiter, "cvwaiter", 1);
        } else if (strcmp(mode, "semaphore") == 0) {
                start(sem_waiter, "semwaiter", 1);
                return 7;
        } else if (strcmp(mode, "futex") == 0) {
                start(futex_waiter, "fxwaiter", 1);
        } else if (strcmp(mode, "epoll") == 0) {
                start(epoll_waiter, "epwaiter", 1);
        } else if (strcmp(mode, "ualarm") == 0) {
                start(napper, "napper", 0);
                atexit(arm_alarm);
        } else if (strcmp(mode, "shared") == 0) {
                shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                if (shared == MAP_FAILED)
                        return 2;
                fflush(stdout);
                if (fork() == 0)
                        watch_shared();
                close(pipe_fds[0]);
                start(shared_storer, "storer", 0);
        } else if (strcmp(mode, "forkhold") == 0) {
                printf("pid %d\n", (int) getpid());
                fflush(stdout);
                pid_t child = fork();
                if (child == 0) {
                        start(napper, "napper", 0);
                        return 0;
                }
                /* until the child is in its exit_group (held there under
                 * leakscan) or has ended (a zombie, directly) */
                char path[64], buf[64];
                snprintf(path, sizeof path, "/proc/%d/syscall", (int) child);
                int status;
                while (waitpid(child, &status, WNOHANG) == 0) {
                        FILE *f = fopen(path, "r");
                        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
                        if (f)
                                fclose(f);
                        buf[n] = 0;
                        if (strncmp(buf, "231 ", 4) == 0)
                                break;
                        sched_yield();
                }
        } else if (strcmp(mode, "napper") == 0) {
                start(napper, "napper", 0);
        } else if (strcmp(mode, "sender") == 0) {
                start(sender, "sender", 1);
        } else if (strcmp(mode, "waiters") == 0) {
                start(forever_waiter, "cvforever", 1);
                start(forever_waiter, "cvforever", 1);
        } else {
                return 2;
        }
        return 0;
}
