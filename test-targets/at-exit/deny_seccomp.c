/* Runs argv[1...] where the seccomp syscall fails with ENOSYS, as on a
 * kernel without it: leakscan --at-exit started under it cannot install its
 * filter and must say that, not that the program could not run.  Built a
 * second time with DENY_NR and DENY_ERRNO (deny_perf: perf_event_open
 * fails with EACCES, as under a container's seccomp profile), for
 * tests/integration/test_busy_main.py. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef DENY_NR
#define DENY_NR SYS_seccomp
#define DENY_ERRNO ENOSYS
#endif

int main(int argc, char **argv)
{
        if (argc < 2)
                return 2;
        struct sock_filter code[] = {
                /* load the syscall number */
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                /* the denied call: fail; anything else: allow */
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DENY_NR, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | DENY_ERRNO),
                /* let it run */
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                perror(argv[0]);
                return 2;
        }
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        return 127;
}
