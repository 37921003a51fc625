/* The contract of leakscan_verify_none beyond the examples: NULL options,
 * the grace and its absence, ignore rules (and a malformed one), the JSON
 * report, and options of a newer header.  Exit status 0 when all hold. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leakscan/verify.h>

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: " __VA_ARGS__); putchar('\n'); failures++; } } while (0)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *stuck_forever(void *arg)
{
        pthread_mutex_lock(&lock);
        for (;;)
                pthread_cond_wait(&never, &lock);
        return arg;
}

static void *ends_after_100ms(void *arg)
{
        usleep(100 * 1000);
        return arg;
}

static sem_t release;

static void *ends_when_released(void *arg)
{
        while (sem_wait(&release) != 0)
                ;
        return arg;
}

static void start_detached(void *(*fn)(void *))
{
        pthread_t t;
        pthread_create(&t, NULL, fn, NULL);
        pthread_detach(t);
}

int main(void)
{
        struct leakscan_baseline *b = NULL;
        CHECK(leakscan_baseline_take(&b) == 0 && b, "a baseline");
        struct leakscan_verify_options opts = LEAKSCAN_VERIFY_OPTIONS_INIT;
        opts.baseline = b;
        char *report = (char *) "untouched";

        CHECK(leakscan_verify_none(NULL, NULL) == 0, "NULL options, nothing left");
        CHECK(leakscan_verify_none(&opts, &report) == 0 && report == NULL, "no report when nothing leaked");

        start_detached(ends_after_100ms);
        CHECK(leakscan_verify_none(&opts, NULL) == 0, "a thread that ends within the grace is no leak");
        /* a thread that has not ended by the check, however slow the
         * machine: released only afterwards, and joined */
        pthread_t pending;
        sem_init(&release, 0, 0);
        pthread_create(&pending, NULL, ends_when_released, NULL);
        opts.grace_ms = -1;
        int n = leakscan_verify_none(&opts, NULL);
        CHECK(n == 1, "without grace, a thread that has not ended yet is a leak (%d)", n);
        opts.grace_ms = 0;
        sem_post(&release);
        pthread_join(pending, NULL);

        start_detached(stuck_forever);
        n = leakscan_verify_none(&opts, &report);
        CHECK(n == 1 && report && strstr(report, "with stuck_forever on top of the stack"),
              "a stuck thread is a leak, named in the report (%d):\n%s", n, report ? report : "(null)");
        free(report);

        opts.json = true;
        report = NULL;
        n = leakscan_verify_none(&opts, &report);
        CHECK(n == 1 && report && strstr(report, "\"schema\": \"leakscan/1\"") &&
              strstr(report, "\"mode\": \"verify\"") && strstr(report, "\"leaked\": true"),
              "the JSON report (%d):\n%s", n, report ? report : "(null)");
        free(report);
        opts.json = false;

        opts.ignore = "# a comment\n\n  top:stuck_*\n";
        CHECK(leakscan_verify_none(&opts, NULL) == 0, "an ignore rule");
        opts.ignore = "top:nothing\nname:nothing";
        CHECK(leakscan_verify_none(&opts, NULL) == 1, "rules that match nothing ignore nothing");
        opts.ignore = "bogus:pattern";
        CHECK(leakscan_verify_none(&opts, NULL) == -EINVAL, "a malformed rule is -EINVAL");
        opts.ignore = NULL;

        /* a newer header's options: more fields, unknown here */
        struct {
                struct leakscan_verify_options o;
                int newer_field;
        } newer;
        memset(&newer, 0, sizeof newer);
        newer.o.size = sizeof newer;
        newer.o.baseline = b;
        newer.o.ignore = "top:stuck_*";
        CHECK(leakscan_verify_none(&newer.o, NULL) == 0, "a newer header's options, its new fields zero");
        newer.newer_field = 1;
        CHECK(leakscan_verify_none(&newer.o, NULL) == -EOPNOTSUPP, "a field this library does not know");

        leakscan_baseline_free(b);
        if (!failures)
                puts("all passed");
        return failures ? 1 : 0;
}
