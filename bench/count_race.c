/* bench/count_race.py: the signals target as it was before issue 16 item 4
 * (a plain received++ in the handler) with an atomic count beside it, to
 * show which of the two a stop of the whole process makes fall short.
 * Prints "count PLAIN ATOMIC PENDING" on SIGUSR2. */
#include "common.h"
static volatile sig_atomic_t plain;
static unsigned long exact;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;
static void on_rt(int sig) { (void) sig; plain++; __atomic_fetch_add(&exact, 1, __ATOMIC_SEQ_CST); }
static void on_report(int sig)
{
        (void) sig;
        char buf[96];
        sigset_t set;
        int pending = sigpending(&set) == 0 && sigismember(&set, SIGRTMIN + 1) == 1;
        int n = snprintf(buf, sizeof buf, "count %d %lu %d\n", (int) plain, __atomic_load_n(&exact, __ATOMIC_SEQ_CST), pending);
        (void) !write(STDOUT_FILENO, buf, (size_t) n);
}
static void *blocked(void *arg) { (void) arg; name_self("blocked"); pthread_mutex_lock(&never); return NULL; }
static void *heartbeat(void *arg) { (void) arg; name_self("heartbeat"); for (;;) usleep(1000); return NULL; }
static void *idle(void *arg) { (void) arg; for (;;) pause(); return NULL; }
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
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
