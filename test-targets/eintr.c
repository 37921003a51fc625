/* Robustness target (tests/integration/test_robustness.py): three threads in
 * indefinite waits that the kernel ends with EINTR, not restarts, when a
 * ptrace stop interrupts them (epoll_wait(-1), semop, sigwaitinfo), each
 * woken every millisecond and busy for half of it, so that a snapshot often
 * finds them running just before they sleep again; and the main thread in
 * an epoll_wait(-1) that nothing wakes, as in a server's event loop (the
 * main thread is the one the kernel checks a process-directed signal
 * against).  Counts the EINTR returns they saw and prints them on SIGUSR2
 * ("eintr N"): leakscan must leave the count at 0.  SIGUSR2 is taken by the
 * main thread alone, and the EINTR its own handler causes is not counted.
 * With the argument "idle" nothing wakes the three waiters: they sleep in
 * their waits for good, so that any signal that reaches one ends its wait
 * (the waking ones run half of the time, when a signal ends nothing).
 * With "spin" the main thread runs instead of waiting (a busy main
 * thread is stopped by a snapshot, which then traces it); with "deep" as
 * well, it runs 128 KiB below main's frame (spin_deep), a stack deeper
 * than the window a snapshot copies.  With "flicker" the main thread runs
 * and naps in turn (200 us of spinning, a 100 us nanosleep), as an event
 * loop with short timeouts does: a snapshot finds it now running, now
 * asleep in a call ("flicker=RUN/NAP" sets the two, in microseconds). */
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

#include "common.h"

static atomic_int eintr;
static atomic_int reporting;     /* the main thread's wait was ended by on_report */
static int efd, semid;
static pthread_t sigwaiter_thread;

static void on_report(int sig)
{
        (void) sig;
        atomic_store(&reporting, 1);
        char buf[64];
        int n = snprintf(buf, sizeof buf, "eintr %d\n", atomic_load(&eintr));
        (void) !write(STDOUT_FILENO, buf, (size_t) n);
}

static void spin_us(long us)
{
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        do
                clock_gettime(CLOCK_MONOTONIC, &b);
        while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static void *epoller(void *arg)
{
        (void) arg;
        name_self("epoller");
        int ep = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN }, out;
        epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
        for (;;) {
                if (epoll_wait(ep, &out, 1, -1) < 0) {
                        if (errno == EINTR)
                                atomic_fetch_add(&eintr, 1);
                } else {
                        uint64_t v;     /* an event: the read does not block */
                        (void) !read(efd, &v, sizeof v);
                }
                spin_us(500);
        }
        return NULL;
}

static void *semwaiter(void *arg)
{
        (void) arg;
        name_self("semwaiter");
        struct sembuf down = { .sem_num = 0, .sem_op = -1 };
        for (;;) {
                if (semop(semid, &down, 1) < 0 && errno == EINTR)
                        atomic_fetch_add(&eintr, 1);
                spin_us(500);
        }
        return NULL;
}

static void *sigwaiter(void *arg)
{
        (void) arg;
        name_self("sigwaiter");
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        for (;;) {
                if (sigwaitinfo(&set, NULL) < 0 && errno == EINTR)
                        atomic_fetch_add(&eintr, 1);
                spin_us(500);
        }
        return NULL;
}

static void *waker(void *arg)
{
        (void) arg;
        name_self("waker");
        struct sembuf up = { .sem_num = 0, .sem_op = 1 };
        for (;;) {
                uint64_t one = 1;
                (void) !write(efd, &one, sizeof one);
                semop(semid, &up, 1);
                pthread_kill(sigwaiter_thread, SIGUSR1);
                usleep(1000);
        }
        return NULL;
}

/* A System V semaphore outlives its process: a child in a session of its
 * own (out of reach of the harness's kill of our group) removes it when we
 * die. */
static void remove_sem_at_death(void)
{
        pid_t parent = getpid();
        if (fork() != 0)
                return;
        setsid();
        while (getppid() == parent)
                usleep(100000);
        semctl(semid, 0, IPC_RMID);
        _exit(0);
}

/* Spins with 128 KiB of its own frame between it and main. */
static __attribute__((noinline)) void spin_deep(void)
{
        volatile char pad[128 * 1024];
        for (size_t i = 0; i < sizeof pad; i += 4096)
                pad[i] = 1;
        for (;;)
                spin_us(1000);
}

/* Runs run_us and naps nap_us in turn, for good. */
static __attribute__((noinline)) void flicker_loop(long run_us, long nap_us)
{
        for (;;) {
                spin_us(run_us);
                struct timespec nap = { nap_us / 1000000, nap_us % 1000000 * 1000 };
                nanosleep(&nap, NULL);
        }
}

int main(int argc, char **argv)
{
        bool idle = false, spin = false, deep = false, flicker = false;
        long run_us = 200, nap_us = 100;
        for (int i = 1; i < argc; i++) {
                idle |= strcmp(argv[i], "idle") == 0;
                spin |= strcmp(argv[i], "spin") == 0;
                deep |= strcmp(argv[i], "deep") == 0;
                if (strncmp(argv[i], "flicker", 7) == 0) {
                        flicker = true;
                        if (argv[i][7] == '=' && sscanf(argv[i] + 8, "%ld/%ld", &run_us, &nap_us) != 2)
                                die("flicker=RUN/NAP");
                }
        }
        struct sigaction sa = { .sa_handler = on_report, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &set, NULL);   /* inherited: only sigwaitinfo takes SIGUSR1 */
        efd = eventfd(0, 0);
        semid = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
        if (efd < 0 || semid < 0)
                die("eventfd/semget");
        remove_sem_at_death();
        spawn_thread(epoller, NULL);
        spawn_thread(semwaiter, NULL);
        sigwaiter_thread = spawn_thread(sigwaiter, NULL);
        if (!idle)
                spawn_thread(waker, NULL);
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        int ep = epoll_create1(0), never = eventfd(0, 0);
        struct epoll_event ev = { .events = EPOLLIN }, out;
        if (ep < 0 || never < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, never, &ev) < 0)
                die("epoll");
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        if (flicker)
                flicker_loop(run_us, nap_us);
        if (spin && deep)
                spin_deep();
        while (spin)
                spin_us(1000);
        for (;;)
                if (epoll_wait(ep, &out, 1, -1) < 0 && errno == EINTR && !atomic_exchange(&reporting, 0))
                        atomic_fetch_add(&eintr, 1);
}
