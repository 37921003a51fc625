/* Unit tests of the exit trap's own processes (src/exit): the helper
 * processes that share our memory, which must leave our libc state
 * alone. */
#include "exit/exit.h"
#include "check.h"

struct helper_test {
        int pipe_out;
};

static SV_HELPER_CODE int helper_body(void *arg)
{
        const struct helper_test *h = arg;
        /* fails: libc would have written errno, the starter's */
        (void) arch_raw_syscall(SYS_close, -1, 0, 0, 0, 0, 0);
        char c = 'h';
        (void) arch_raw_syscall(SYS_write, h->pipe_out, (long) &c, 1, 0, 0, 0);
        sv_helper_exit(7);
}

static void test_helper(void)
{
        int p[2];
        CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
        struct helper_test h = { .pipe_out = p[1] };
        struct sv_helper helper;
        errno = 4242;
        CHECK_EQ_INT(sv_helper_start(helper_body, &h, &helper), 0);
        close(p[1]);
        char c = 0;
        CHECK_EQ_INT(read(p[0], &c, 1), 1);
        CHECK_EQ_INT(c, 'h');
        int status = 0;
        CHECK_EQ_INT(waitpid(helper.pid, &status, 0), helper.pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
        CHECK_EQ_INT(errno, 4242);
        CHECK(helper.stack != NULL);
        sv_helper_reaped(&helper);
        CHECK(helper.stack == NULL && helper.pid == 0);
        close(p[0]);
}

int main(void)
{
        test_helper();
        return CHECK_DONE();
}
