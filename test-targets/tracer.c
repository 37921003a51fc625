/* Robustness target: a parent that traces its child (PTRACE_TRACEME), so that
 * leakscan meets a process that already has a tracer.  Prints the child's
 * pid as "ready PID" once the child is traced and running.  With the
 * argument "thread", the parent traces only a second thread of the child
 * (PTRACE_SEIZE of that TID) and leaves its main thread alone. */
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "common.h"

static void *idle(void *arg)
{
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

static int trace_one_thread(void)
{
        int fds[2];
        if (pipe(fds) < 0)
                die("pipe");
        pid_t child = fork();
        if (child < 0)
                die("fork");
        if (child == 0) {
                pthread_t t = spawn_thread(idle, NULL);
                (void) t;
                usleep(10000);
                DIR *d = opendir("/proc/self/task");
                struct dirent *de;
                pid_t tid = 0;
                while (d && (de = readdir(d)))
                        if (atoi(de->d_name) > 0 && atoi(de->d_name) != getpid())
                                tid = atoi(de->d_name);
                (void) !write(fds[1], &tid, sizeof tid);
                for (;;)
                        pause();
        }
        pid_t tid = 0;
        if (read(fds[0], &tid, sizeof tid) != sizeof tid || tid <= 0)
                die("read tid");
        if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
                die("PTRACE_SEIZE");
        printf("ready %d\n", (int) child);
        fflush(stdout);
        for (;;) {
                int status;
                if (waitpid(tid, &status, __WALL) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
                        return 0;
                ptrace(PTRACE_CONT, tid, NULL, (void *) (long) (WIFSTOPPED(status) && (status >> 16) == 0 ? WSTOPSIG(status) : 0));
        }
}

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "thread") == 0)
                return trace_one_thread();
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
