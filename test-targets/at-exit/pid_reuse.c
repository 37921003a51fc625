/* A pid given again within one run: child A exits with status 1 and is
 * reaped, then child B is created with A's pid (clone3's set_tid, which
 * CRIU uses to restore processes; needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE) and exits with status 2.  A long test suite on a
 * machine with the default pid_max (32,768) meets this by itself.  Under
 * --at-exit --follow-forks both must be judged, each as itself.  Prints
 * "reused PID" and exits 0; prints "no set_tid" and exits 77 where clone3
 * refuses set_tid; exits 3 if another process kept taking A's pid. */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
        for (int attempt = 0; attempt < 100; attempt++) {
                pid_t a = fork();
                if (a < 0)
                        return 2;
                if (a == 0)
                        _exit(1);
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
                if (b == 0)
                        _exit(2);       /* raw clone: nothing of libc's after this */
                if (b > 0) {
                        if (waitpid((pid_t) b, &status, 0) != (pid_t) b)
                                return 2;
                        printf("reused %d\n", (int) a);
                        return 0;
                }
                if (errno != EEXIST) {  /* EEXIST: a's pid was taken meanwhile */
                        printf("no set_tid (%d)\n", errno);
                        return 77;
                }
        }
        return 3;
}
