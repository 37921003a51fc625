/* A debugger of its own child: the child asks to be traced
 * (PTRACE_TRACEME), leaks a thread and returns 0; the parent lets it run to
 * its end and prints "child N" with its status.  Under --follow-forks
 * leakscan cannot seize the traced child (a thread has one tracer): the
 * report says so for that process, and the program's status stands. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static void *nap_forever(void *arg)
{
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(void)
{
        pid_t pid = fork();
        if (pid == 0) {
                ptrace(PTRACE_TRACEME, 0, 0, 0);
                raise(SIGSTOP);
                pthread_t t;
                pthread_create(&t, NULL, nap_forever, NULL);
                usleep(10000);
                return 0;
        }
        int status;
        for (;;) {
                if (waitpid(pid, &status, __WALL) < 0)
                        return 1;
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        break;
                int sig = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;
                ptrace(PTRACE_CONT, pid, 0, (void *) (long) (sig == SIGSTOP || sig == SIGTRAP ? 0 : sig));
        }
        printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}
