/* A target for the reachability benchmark: a heap of MIB mebibytes in
 * objects of SIZE bytes, all reachable from a global through a linked list
 * (so that the scan must mark and read every one), a pool of 4 workers
 * idle on a queue at the end of that list, and one handler waiting on a
 * request nobody holds any more (so that there is something to prove and
 * the scan runs to the end).
 * Usage: bench-heap MIB [SIZE]; prints "ready PID" when set up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct node {
        struct node *next;
        long payload[];
};

struct queue {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int items;
};

static struct node *head;

static void *wait_on(void *arg)
{
        struct queue *q = arg;
        pthread_mutex_lock(&q->lock);
        while (!q->items)
                pthread_cond_wait(&q->cond, &q->lock);
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

static struct queue *new_queue(void)
{
        struct queue *q = calloc(1, sizeof *q);
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->cond, NULL);
        return q;
}

static void __attribute__((noinline)) start_dropped(void)
{
        pthread_t t;
        pthread_create(&t, NULL, wait_on, new_queue());
}

int main(int argc, char **argv)
{
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
        size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
        size_t n = (mib << 20) / (size + 16);
        for (size_t i = 0; i < n; i++) {
                struct node *x = malloc(size);
                memset(x, 0, size);
                for (size_t k = 0; k < (size - sizeof *x) / sizeof(long); k += 2)
                        x->payload[k] = (long) (i * 2654435761u + k);   /* numbers, not pointers */
                x->next = head;
                head = x;
        }
        struct node *qn = malloc(sizeof *qn + sizeof(struct queue *));
        struct queue *q = new_queue();
        memcpy(qn->payload, &q, sizeof q);
        qn->next = head;
        head = qn;
        q = NULL;
        pthread_t t;
        for (int i = 0; i < 4; i++) {
                struct queue *pool;
                memcpy(&pool, qn->payload, sizeof pool);
                pthread_create(&t, NULL, wait_on, pool);
        }
        start_dropped();
        usleep(100000);
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        for (;;)
                pause();
}
