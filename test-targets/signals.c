/* Robustness target (tests/integration/test_robustness.py): counts the
 * queued real-time signals it receives while a worker blocks, and prints the
 * count on SIGUSR2 ("count N pending P").  A heartbeat thread
 * proves the process runs.  An optional argument adds that many idle threads
 * (a longer snapshot, for bench/kill_stress.py).
 *
 * Any thread may run the handler, several at once (on two CPUs, or when a
 * hold ends with signals queued), so the count is atomic.  A count is only
 * final when no SIGRTMIN+1 is pending and no handler is between its entry
 * and its count: SIGUSR2 (12) is dequeued before a pending SIGRTMIN+1 (35),
 * so the report says whether one was pending for the reporting thread or
 * the process (P), and the harness asks only once no thread has one pending
 * and every thread has been seen asleep since (tests/integration/sigcount.py). */
#include "common.h"

static unsigned long received;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void on_rt(int sig)
{
        (void) sig;
        __atomic_fetch_add(&received, 1, __ATOMIC_SEQ_CST);
}

static void on_report(int sig)
{
        (void) sig;
        char buf[96];
        sigset_t set;
        unsigned long count = __atomic_load_n(&received, __ATOMIC_SEQ_CST);
        int pending = sigpending(&set) == 0 && sigismember(&set, SIGRTMIN + 1) == 1;
        int n = snprintf(buf, sizeof buf, "count %lu pending %d\n", count, pending);
        (void) !write(STDOUT_FILENO, buf, (size_t) n);
}

static void *blocked(void *arg)
{
        (void) arg;
        name_self("blocked");
        /* the storm is for the other threads: one that ran a handler when
         * a snapshot looked would rightly be seen running, not leaked, and
         * the test's "every snapshot finds the leak" would race it */
        sigset_t storm;
        sigemptyset(&storm);
        sigaddset(&storm, SIGRTMIN + 1);
        pthread_sigmask(SIG_BLOCK, &storm, NULL);
        pthread_mutex_lock(&never);
        return NULL;
}

static void *heartbeat(void *arg)
{
        (void) arg;
        name_self("heartbeat");
        for (;;)
                usleep(1000);
        return NULL;
}

static void *idle(void *arg)
{
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(int argc, char **argv)
{
        struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGRTMIN + 1, &sa, NULL);
        sa.sa_handler = on_report;
        sigaction(SIGUSR2, &sa, NULL);
        pthread_mutex_lock(&never);
        spawn_thread(blocked, NULL);
        spawn_thread(heartbeat, NULL);
        for (int i = 0; argc > 1 && i < atoi(argv[1]); i++)
                spawn_thread(idle, NULL);
        ready_and_wait();
}
