/* A pid given again within one run: child A exits with status 1 and is
 * reaped, then child B is created with A's pid (clone3's set_tid, which
 * CRIU uses to restore processes; needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE) and exits with status 2.  A long test suite on a
 * machine with the default pid_max (32,768) meets this by itself.  Under
 * --at-exit --follow-forks both must be judged, each as itself.  Prints
 * "reused PID" and exits 0; prints "no set_tid" and exits 77 where clone3
 * refuses set_tid; exits 3 if another process kept taking A's pid.
 *
 * "pid_reuse python PYTHON": A creates a thread (and joins it) first, and
 * B execs PYTHON, which leaves a daemon thread started by leaky_starter():
 * B's creator stacks must be read as a Python process's, not through what
 * was learned of A (no interpreter).  "pid_reuse python-killed PYTHON":
 * the same, with A killed by SIGKILL instead of exiting (never judged).
 * "pid_reuse main-exit": A and B exec this program again with the same
 * layout (no address randomization), A to exit_group(1), B to end its main
 * thread by itself (pthread_exit) while another thread lives on and then
 * exits with status 2: the end of a thread whose pid and tid A had once
 * called exit_group is B's own, not a retry of A's.  The parent prints
 * "reused PID status N", N B's status.
 *
 * "pid_reuse thread": makes a thread, joins it and exits 0; "pid_reuse
 * thread-killed": makes a thread and is killed by SIGKILL (no exit_group:
 * never judged), for a suite of such processes under one leakscan.
 * "pid_reuse exec-python PYTHON": makes a thread, joins it, then execs
 * PYTHON with leaky_starter() (the same pid, a new image). */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char leaky_python[] =
        "import threading, time\n"
        "def leaky_starter():\n"
        "    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n"
        "leaky_starter()\n";

static void *returns(void *arg)
{
        return arg;
}

/* B's other thread, in main-exit: waits until the main thread has ended
 * (a zombie leader), then ends the process with status 2. */
static void *outlives_main(void *arg)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) getpid(), (int) getpid());
        for (int i = 0; i < 100000; i++) {      /* a bound for a hang: 100 s */
                char buf[512] = "";
                FILE *f = fopen(path, "re");
                if (!f)
                        break;
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[n] = 0;
                const char *end = strrchr(buf, ')');
                if (!end || end[1] != ' ' || end[2] == 'Z')
                        break;
                usleep(1000);
        }
        exit(2);
        return arg;
}

int main(int argc, char **argv)
{
        if (argc > 1 && (strcmp(argv[1], "thread") == 0 || strcmp(argv[1], "thread-killed") == 0)) {
                pthread_t t;
                if (pthread_create(&t, NULL, returns, NULL) != 0 || pthread_join(t, NULL) != 0)
                        return 4;
                if (strcmp(argv[1], "thread-killed") == 0)
                        raise(SIGKILL);
                return 0;
        }
        if (argc > 2 && strcmp(argv[1], "exec-python") == 0) {
                pthread_t t;
                if (pthread_create(&t, NULL, returns, NULL) != 0 || pthread_join(t, NULL) != 0)
                        return 4;
                char *args[] = { argv[2], "-c", (char *) leaky_python, NULL };
                execv(argv[2], args);
                return 4;
        }
        if (argc > 1 && strcmp(argv[1], "a-side") == 0)
                _exit(1);
        if (argc > 1 && strcmp(argv[1], "b-side") == 0) {
                pthread_t t;
                if (pthread_create(&t, NULL, outlives_main, NULL) != 0)
                        return 4;
                pthread_exit(NULL);
        }
        bool main_exit = argc > 1 && strcmp(argv[1], "main-exit") == 0;
        bool killed = argc > 2 && strcmp(argv[1], "python-killed") == 0;
        const char *python = argc > 2 && (killed || strcmp(argv[1], "python") == 0) ? argv[2] : NULL;
        for (int attempt = 0; attempt < 100; attempt++) {
                pid_t a = fork();
                if (a < 0)
                        return 2;
                if (a == 0 && main_exit) {
                        char *args[] = { argv[0], "a-side", NULL };
                        personality(ADDR_NO_RANDOMIZE);
                        execve("/proc/self/exe", args, environ);
                        _exit(4);
                }
                if (a == 0) {
                        pthread_t t;
                        if (python && (pthread_create(&t, NULL, returns, NULL) != 0 || pthread_join(t, NULL) != 0))
                                _exit(4);
                        if (killed)
                                raise(SIGKILL);
                        _exit(1);
                }
                int status;
                if (waitpid(a, &status, 0) != a)
                        return 2;
                pid_t want = a;
                struct clone_args args = {
                        .exit_signal = SIGCHLD,
                        .set_tid = (uint64_t) (uintptr_t) &want,
                        .set_tid_size = 1,
                };
                long b = syscall(SYS_clone3, &args, sizeof args);
                if (b == 0) {
                        /* raw clone: nothing of libc's after this */
                        if (python) {
                                char *args[] = { (char *) python, "-c", (char *) leaky_python, NULL };
                                syscall(SYS_execve, python, args, environ);
                        } else if (main_exit) {
                                char *args[] = { argv[0], "b-side", NULL };
                                syscall(SYS_personality, ADDR_NO_RANDOMIZE);
                                syscall(SYS_execve, "/proc/self/exe", args, environ);
                        }
                        _exit(2);
                }
                if (b > 0) {
                        if (waitpid((pid_t) b, &status, 0) != (pid_t) b)
                                return 2;
                        printf("reused %d status %d\n", (int) a,
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
                        return 0;
                }
                if (errno != EEXIST) {  /* EEXIST: a's pid was taken meanwhile */
                        printf("no set_tid (%d)\n", errno);
                        return 77;
                }
        }
        return 3;
}
