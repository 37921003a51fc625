/* A parent that learns of its children's ends as GLib 2.74+ does
 * (g_child_watch: poll a pidfd, then waitid(P_PIDFD, WEXITED | WNOHANG)):
 * directly, a pidfd that polls readable always has a status to reap.
 * Under --at-exit --follow-forks each child's exit is held and judged; if
 * leakscan still traced one of the child's threads when the child became a
 * zombie, the kernel would let only leakscan see it for a moment: the
 * pidfd readable, waitid finding nothing, and GLib reporting status 0 for a
 * child that exited 1.  Child k (of N, argv[1], 40 by default) exits with
 * status 1 from its main thread, or, for odd k, from a second thread while
 * main waits (the group leader a zombie before the process ends).  The
 * parent prints what it saw and exits 0 only if every child was reapable
 * the moment its pidfd said so, with status 1, else 3. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void *exit_from_worker(void *arg)
{
        (void) arg;
        _exit(1);
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 40, early[2] = {0, 0}, wrong = 0;
        for (int k = 0; k < n; k++) {
                pid_t pid = fork();
                if (pid < 0)
                        return 2;
                if (pid == 0) {
                        if (k % 2) {
                                pthread_t t;
                                pthread_create(&t, NULL, exit_from_worker, NULL);
                                pthread_join(t, NULL);
                        }
                        _exit(1);
                }
                int fd = (int) syscall(SYS_pidfd_open, pid, 0);
                if (fd < 0)
                        return 2;
                /* readable: the child is a zombie its parent may reap.
                 * Polled without sleeping, so that the reap follows the
                 * readiness at once, as closely as any parent could */
                struct pollfd pfd = { fd, POLLIN, 0 };
                while (poll(&pfd, 1, 0) == 0 || !(pfd.revents & POLLIN))
                        ;
                siginfo_t si = {0};
                if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
                        early[k % 2]++;
                        /* reap it anyway, so that the next one starts clean */
                        if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED) < 0)
                                return 2;
                }
                if (si.si_code != CLD_EXITED || si.si_status != 1)
                        wrong++;
                close(fd);
        }
        printf("children %d, pidfd readable before reapable %d (exit from main) %d (from a thread), wrong status %d\n",
               n, early[0], early[1], wrong);
        return early[0] || early[1] || wrong ? 3 : 0;
}
