/* A plain C test harness that checks, after each test, that the test left no
 * thread behind (leakscan_verify_none, goleak's VerifyNone).  Three tests:
 * one tidy, one whose worker finishes just after the test returns (the grace
 * covers it), one that leaves a worker waiting forever: that one fails.
 *
 *   cc verify-harness.c $(pkg-config --cflags --libs leakscan) -pthread
 *
 * Exit status: 0 when every test passed, 1 otherwise. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <leakscan/verify.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static int work;

static void *consume(void *arg)
{
        pthread_mutex_lock(&lock);
        while (work == 0)
                pthread_cond_wait(&work_ready, &lock);
        work--;
        pthread_mutex_unlock(&lock);
        return arg;
}

static void *finish_soon(void *arg)
{
        usleep(50 * 1000);
        return arg;
}

/* Starts a consumer, gives it work, joins it. */
static int test_tidy(void)
{
        pthread_t t;
        pthread_create(&t, NULL, consume, NULL);
        pthread_mutex_lock(&lock);
        work++;
        pthread_cond_signal(&work_ready);
        pthread_mutex_unlock(&lock);
        pthread_join(t, NULL);
        return 0;
}

/* A detached worker that is done 50 ms after the test returns. */
static int test_finishes_soon(void)
{
        pthread_t t;
        pthread_create(&t, NULL, finish_soon, NULL);
        pthread_detach(t);
        return 0;
}

/* Starts a consumer and never gives it work: it waits forever. */
static int test_leaky(void)
{
        pthread_t t;
        pthread_create(&t, NULL, consume, NULL);
        pthread_detach(t);
        return 0;
}

static const struct {
        const char *name;
        int (*run)(void);
} tests[] = {
        { "tidy", test_tidy },
        { "finishes_soon", test_finishes_soon },
        { "leaky", test_leaky },
};

int main(int argc, char **argv)
{
        int failed = 0;
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
                if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
                        continue;
                struct leakscan_baseline *baseline = NULL;
                if (leakscan_baseline_take(&baseline) < 0) {
                        fprintf(stderr, "cannot take a baseline of the threads\n");
                        return 2;
                }
                int r = tests[i].run();
                struct leakscan_verify_options opts = LEAKSCAN_VERIFY_OPTIONS_INIT;
                opts.baseline = baseline;
                opts.print_to = stderr;         /* the report, when threads leaked */
                int leaked = leakscan_verify_none(&opts, NULL);
                leakscan_baseline_free(baseline);
                if (r != 0 || leaked != 0) {
                        printf("FAIL %s%s\n", tests[i].name,
                               leaked > 0 ? ": left threads behind" : leaked < 0 ? ": could not check threads" : "");
                        failed++;
                } else
                        printf("ok   %s\n", tests[i].name);
                fflush(stdout);
        }
        return failed ? 1 : 0;
}
