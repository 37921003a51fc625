/* A "test" that joins every thread it starts. */
#include <pthread.h>
#include <stdio.h>

static void *work(void *arg)
{
        return arg;
}

int main(void)
{
        pthread_t t;
        pthread_create(&t, NULL, work, NULL);
        pthread_join(t, NULL);
        printf("tidy: all checks passed\n");
        return 0;
}
