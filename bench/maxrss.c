/* Runs a command and prints its peak resident memory (KiB) on stderr as
 * "maxrss KIB", then the CPU time it used (user and system, microseconds)
 * as "cpu_us USER SYSTEM": on a shared machine, CPU time holds still where
 * wall time follows the load.  bench/run.py measures tools through it, because a child of
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
        fprintf(stderr, "cpu_us %ld %ld\n", (long) ru.ru_utime.tv_sec * 1000000L + (long) ru.ru_utime.tv_usec,
                (long) ru.ru_stime.tv_sec * 1000000L + (long) ru.ru_stime.tv_usec);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
