/* Benchmark program: creates and joins N threads (default 10000), one at a
 * time, then exits: the worst case for --at-exit, which stops at every
 * thread creation to copy the creator's stack. */
#include <pthread.h>
#include <stdlib.h>

static void *nothing(void *arg)
{
        return arg;
}

int main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 10000;
        for (int i = 0; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, nothing, NULL) != 0)
                        return 1;
                pthread_join(t, NULL);
        }
        return 0;
}
