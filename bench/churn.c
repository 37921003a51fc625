/* Benchmark program: creates and joins N threads (default 10000), one at a
 * time, then exits: the worst case for --at-exit, which stops at every
 * thread creation to copy the creator's stack.  With a second argument T,
 * T threads do that at once, N / T creations each (creations from several
 * threads, whose notifications queue up in the supervisor).  With a third
 * argument "leave", one more thread, made by leave_one, is left asleep at
 * the exit: the creator stack tests/integration/test_creators.py checks
 * after the churn. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int per_creator;

static void *nothing(void *arg)
{
        return arg;
}

static void *creator(void *arg)
{
        for (int i = 0; i < per_creator; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, nothing, NULL) != 0)
                        exit(1);
                pthread_join(t, NULL);
        }
        return arg;
}

static void *asleep(void *arg)
{
        for (;;)
                pause();
        return arg;
}

/* The thread left at the exit; not inlined: its creator stack names it. */
__attribute__((noinline)) static int leave_one(void)
{
        pthread_t t;
        return pthread_create(&t, NULL, asleep, NULL);
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 10000;
        int creators = argc > 2 ? atoi(argv[2]) : 1;
        int leave = argc > 3 && strcmp(argv[3], "leave") == 0;
        if (creators <= 1) {
                per_creator = n;
                creator(NULL);
                return leave && leave_one() != 0;
        }
        per_creator = n / creators;
        pthread_t t[creators];
        for (int i = 0; i < creators; i++)
                if (pthread_create(&t[i], NULL, creator, NULL) != 0)
                        return 1;
        for (int i = 0; i < creators; i++)
                pthread_join(t[i], NULL);
        return leave && leave_one() != 0;
}
