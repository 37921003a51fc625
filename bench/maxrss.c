/* Runs a command and prints its peak resident memory (KiB) on stderr as
 * "maxrss KIB".  bench/run.py measures tools through it, because a child of
 * a large Python process inherits Python's resident size until it execs. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: maxrss COMMAND [ARGS...]\n");
                return 2;
        }
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[1], argv + 1);
                _exit(127);
        }
        int status;
        struct rusage ru;
        if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
                return 125;
        fprintf(stderr, "maxrss %ld\n", ru.ru_maxrss);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
