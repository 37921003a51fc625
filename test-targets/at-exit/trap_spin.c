/* A thread that computes, and gets no CPU in the instant of the exit: the
 * window of a loaded machine, made wide on purpose.  The thread spins in
 * spin() at SCHED_IDLE on CPU 0; a child process (the "hog") spins on the
 * same CPU (at SCHED_FIFO where allowed, else at normal priority) for
 * 100 ms from just before main calls exit,
 * so the thread is runnable but not scheduled for that long, and a ptrace
 * interrupt sent to it at the trap is not taken before then.  No longer:
 * a real-time hog spinning 800 ms made the kernel give ordinary tasks
 * their share by holding every real-time task on that CPU (the fair
 * server), which delayed other tests' leakscans running at the same time
 * (docs/RELIABILITY.md, "The signal-during-exit race"); at an ordinary
 * priority, even nice -20, the spinner is scheduled within microseconds.
 *
 * Directly: the process exits 0 at once (exit_group kills the spinner).
 * Under --at-exit the spinner is a leaked thread, running, with spin() on
 * top: leakscan must wait for its stop (as long as --stop-timeout) rather
 * than report it "running" with no frames. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static atomic_int spinning;
static volatile unsigned long counter;

static void pin_to_cpu0(void)
{
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(0, &set);
        (void) sched_setaffinity(0, sizeof set, &set);
}

static void *spin(void *arg)
{
        (void) arg;
        pin_to_cpu0();
        struct sched_param sp = { 0 };
        (void) sched_setscheduler(0, SCHED_IDLE, &sp);
        atomic_store(&spinning, 1);
        for (;;)
                counter++;
        return NULL;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
        int go[2], ack[2];
        if (pipe(go) < 0 || pipe(ack) < 0)
                return 2;
        pid_t hog = fork();
        if (hog < 0)
                return 2;
        if (hog == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(go[1]);
                pin_to_cpu0();
                /* real-time where allowed: then the spinner gets no CPU
                 * at all (but the fair server's few ms per second) */
                struct sched_param rt = { .sched_priority = 1 };
                (void) sched_setscheduler(0, SCHED_FIFO, &rt);
                char c;
                if (read(go[0], &c, 1) != 1)
                        _exit(0);
                double end = now() + 0.1;
                if (write(ack[1], "a", 1) != 1)
                        _exit(0);
                for (; now() < end; )
                        ;
                _exit(0);
        }
        close(go[0]);
        pthread_t t;
        pthread_create(&t, NULL, spin, NULL);
        while (!atomic_load(&spinning))
                usleep(1000);
        /* the hog has CPU 0 from its answer on: exit at once */
        char c;
        if (write(go[1], "g", 1) != 1 || read(ack[0], &c, 1) != 1)
                return 2;
        exit(0);
}
