/* Robustness target: a parent that traces its child (PTRACE_TRACEME), so that
 * leakscan meets a process that already has a tracer.  Prints the child's
 * pid as "ready PID" once the child is traced and running. */
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "common.h"

int main(void)
{
        pid_t child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                ptrace(PTRACE_TRACEME, 0, NULL, NULL);
                raise(SIGSTOP);
                for (;;)
                        pause();
        }
        int status;
        waitpid(child, &status, 0);
        ptrace(PTRACE_CONT, child, NULL, NULL);
        printf("ready %d\n", (int) child);
        fflush(stdout);
        for (;;) {
                if (waitpid(child, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
                        return 0;
                ptrace(PTRACE_CONT, child, NULL, (void *) (long) (WIFSTOPPED(status) ? WSTOPSIG(status) : 0));
        }
}
