/* Robustness target (tests/integration/test_robustness.py): counts the
 * queued real-time signals it receives while a worker blocks, and prints the
 * count on SIGUSR2 ("count N").  A heartbeat thread proves the process runs.
 * An optional argument adds that many idle threads (a longer snapshot, for
 * bench/kill_stress.py). */
#include "common.h"

static volatile sig_atomic_t received;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void on_rt(int sig)
{
        (void) sig;
        received++;
}

static void on_report(int sig)
{
        (void) sig;
        char buf[64];
        int n = snprintf(buf, sizeof buf, "count %d\n", (int) received);
        (void) !write(STDOUT_FILENO, buf, (size_t) n);
}

static void *blocked(void *arg)
{
        (void) arg;
        name_self("blocked");
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
