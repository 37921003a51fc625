/* Counts the signals it receives during its run: a child process sends it
 * 200 queued real-time signals and one SIGUSR1; it prints "rt N usr1 M" and
 * exits.  Also waits for SIGTERM when given "--wait-term" and prints
 * "term" when it comes; with "--count-term", prints "waiting", and 300 ms
 * after the first SIGTERM "term N, from the parent M": how many arrived, and
 * how many of them its parent sent (leakscan passing a signal on). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rt, usr1, term;

static void on_rt(int s) { (void) s; rt++; }
static void on_usr1(int s) { (void) s; usr1++; }
static void on_term(int s) { (void) s; term = 1; }
static volatile sig_atomic_t terms;
static volatile sig_atomic_t terms_from_parent;

/* slow, so that a second SIGTERM sent meanwhile is counted, not merged */
static void on_count_term(int s, siginfo_t *si, void *uc)
{
        (void) s;
        (void) uc;
        terms++;
        if (si->si_pid == getppid())
                terms_from_parent++;
        struct timespec t = { 0, 50000000 };
        nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
        struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGRTMIN + 2, &sa, NULL);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);

        if (argc > 1 && strcmp(argv[1], "--count-term") == 0) {
                struct sigaction sc = { .sa_sigaction = on_count_term, .sa_flags = SA_SIGINFO | SA_RESTART };
                sigemptyset(&sc.sa_mask);
                sigaction(SIGTERM, &sc, NULL);
                /* as --wait-term: a SIGTERM handled between the check and
                 * a pause() left the program paused for good (a run beside
                 * CPU hogs hung so); unblocked again for the 300 ms, so
                 * that one sent later is still counted */
                sigset_t term_set, old;
                sigemptyset(&term_set);
                sigaddset(&term_set, SIGTERM);
                sigprocmask(SIG_BLOCK, &term_set, &old);
                printf("waiting\n");
                fflush(stdout);
                while (!terms)
                        sigsuspend(&old);
                sigprocmask(SIG_SETMASK, &old, NULL);
                usleep(300000);
                printf("term %d, from the parent %d\n", (int) terms, (int) terms_from_parent);
                return 0;
        }
        if (argc > 1 && strcmp(argv[1], "--wait-term") == 0) {
                /* SIGTERM blocked except inside sigsuspend: no window in
                 * which it could come between the check and the wait */
                sigset_t term_set, old;
                sigemptyset(&term_set);
                sigaddset(&term_set, SIGTERM);
                sigprocmask(SIG_BLOCK, &term_set, &old);
                printf("waiting\n");
                fflush(stdout);
                while (!term)
                        sigsuspend(&old);
                printf("term\n");
                return 0;
        }
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
                union sigval v = { 0 };
                for (int i = 0; i < 200; i++)
                        sigqueue(parent, SIGRTMIN + 2, v);
                kill(parent, SIGUSR1);
                _exit(0);
        }
        waitpid(pid, NULL, 0);
        for (int i = 0; i < 100 && (rt < 200 || usr1 < 1); i++)
                usleep(1000);
        printf("rt %d usr1 %d\n", (int) rt, (int) usr1);
        return 0;
}
