/* Enters SECCOMP_MODE_STRICT, writes "strict" and exits through the one
 * exit strict mode allows.  A filtered task cannot enter strict mode, so
 * --at-exit refuses the program with a message. */
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
        printf("before\n");
        fflush(stdout);
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) < 0) {
                perror("prctl");
                return 1;
        }
        (void) !write(1, "strict\n", 7);
        syscall(SYS_exit, 0);
        return 0;
}
