/* Benchmark program: creates and joins N threads (default 10000), one at a
 * time, then exits: the worst case for --at-exit, which stops at every
 * thread creation to copy the creator's stack.  With a second argument T,
 * T threads do that at once, N / T creations each (creations from several
 * threads, whose notifications queue up in the supervisor). */
#include <pthread.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 10000;
        int creators = argc > 2 ? atoi(argv[2]) : 1;
        if (creators <= 1) {
                per_creator = n;
                creator(NULL);
                return 0;
        }
        per_creator = n / creators;
        pthread_t t[creators];
        for (int i = 0; i < creators; i++)
                if (pthread_create(&t[i], NULL, creator, NULL) != 0)
                        return 1;
        for (int i = 0; i < creators; i++)
                pthread_join(t[i], NULL);
        return 0;
}
