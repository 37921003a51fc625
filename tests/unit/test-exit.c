/* Unit tests of the exit trap's own processes and threads (src/exit): the
 * learning of where libc ends a thread, which happens in threads of ours
 * and must leave nothing behind, and the helper processes that share our
 * memory, which must leave our libc state alone. */
#include "exit/exit.h"
#include "check.h"

/* Threads in this process, and the Seccomp: line of the calling thread. */
static int count_tasks(void)
{
        DIR *d = opendir("/proc/self/task");
        int n = 0;
        if (!d)
                return -1;
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

static int own_seccomp_mode(void)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/status", (int) gettid());
        FILE *f = fopen(path, "r");
        char line[256];
        int mode = -1;
        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "Seccomp: %d", &mode) == 1)
                        break;
        if (f)
                fclose(f);
        return mode;
}

static void *thread_returns(void *arg)
{
        return arg;
}

static void test_learn_thread_exit(void)
{
        int mode_before = own_seccomp_mode();
        sv_learn_thread_exit();
        uint32_t first = 0, again = 0;
        /* glibc ends a thread at one place and falls back in _exit at another */
        CHECK(sv_thread_exit_site(&first));
        /* its threads are gone and its filter stayed theirs */
        CHECK_EQ_INT(count_tasks(), 1);
        CHECK_EQ_INT(own_seccomp_mode(), mode_before);
        pthread_t t;
        CHECK_EQ_INT(pthread_create(&t, NULL, thread_returns, NULL), 0);
        CHECK_EQ_INT(pthread_join(t, NULL), 0);
        /* the same libc, the same place */
        sv_learn_thread_exit();
        CHECK(sv_thread_exit_site(&again));
        CHECK_EQ_INT(again, first);
        CHECK_EQ_INT(count_tasks(), 1);

        setenv("LEAKSCAN_THREAD_EXIT", "hold", 1);
        sv_learn_thread_exit();
        CHECK(!sv_thread_exit_site(&again));
        unsetenv("LEAKSCAN_THREAD_EXIT");
}

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
        test_learn_thread_exit();
        test_helper();
        return CHECK_DONE();
}
