/* Healthy idle threads that the reachability scan must not call leaked:
 * a pool on a global queue, a pool on a heap queue that a global points to,
 * a pool on a queue in a running thread's stack, and a chain of waiters
 * behind a running thread (each waits on a heap object that only the one
 * before it holds, the first one only the running thread).
 * leakscan-expect: leaked=0
 * leakscan-expect: thread global-pool count=2 state=condvar verdict=idle leaked=false reach=reachable region=global
 * leakscan-expect: thread heap-pool count=2 state=condvar verdict=idle leaked=false reach=reachable region=heap
 * leakscan-expect: thread stack-pool count=2 state=condvar verdict=idle leaked=false reach=reachable region=stack in=own_queue
 * leakscan-expect: thread owner state=sleep verdict=timed leaked=false
 * leakscan-expect: thread chain-1 state=condvar verdict=idle leaked=false reach=reachable region=heap
 * leakscan-expect: thread chain-2 state=mutex verdict=idle leaked=false reach=reachable region=heap
 * leakscan-expect: thread driver state=sleep verdict=timed leaked=false
 */
#include <time.h>

#include "common.h"

struct queue {
        pthread_mutex_t lock;
        pthread_cond_t nonempty;
        int items;
};

static struct queue global_queue = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static struct queue *heap_queue;

static NOINLINE void take(struct queue *q)
{
        pthread_mutex_lock(&q->lock);
        while (q->items == 0)
                pthread_cond_wait(&q->nonempty, &q->lock);
        q->items--;
        pthread_mutex_unlock(&q->lock);
}

struct worker_arg {
        const char *name;
        struct queue *q;
};

static void *worker(void *arg)
{
        struct worker_arg *a = arg;
        name_self(a->name);
        take(a->q);
        return NULL;
}

static void start_pool(const char *name, struct queue *q, int n)
{
        for (int i = 0; i < n; i++) {
                struct worker_arg *a = malloc(sizeof *a);
                a->name = name;
                a->q = q;
                spawn_thread(worker, a);
        }
}

/* Naps an hour at a time, as sleep.c does: with 200 ms naps the thread
 * was often runnable at the snapshot on a loaded machine (woken, waiting
 * for a CPU), and reported running instead of asleep. */
static NOINLINE void work_forever(void)
{
        for (;;) {
                struct timespec ts = { 3600, 0 };
                nanosleep(&ts, NULL);
        }
}

/* A running thread whose stack holds the queue its pool waits on. */
static NOINLINE void own_queue(void)
{
        struct queue q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
        start_pool("stack-pool", &q, 2);
        work_forever();
}

static void *owner(void *arg)
{
        (void) arg;
        name_self("owner");
        own_queue();
        return NULL;
}

/* The chain: driver (running) holds link 1; chain-1 waits on it and holds
 * link 2, whose mutex chain-2 waits for (chain-1 owns it). */
struct link {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int go;
};

static void *chain_2(void *arg)
{
        struct link *l2 = arg;
        name_self("chain-2");
        pthread_mutex_lock(&l2->lock);
        return NULL;
}

static void *chain_1(void *arg)
{
        struct link *l1 = arg;
        name_self("chain-1");
        struct link *l2 = calloc(1, sizeof *l2);
        pthread_mutex_init(&l2->lock, NULL);
        pthread_mutex_lock(&l2->lock);
        spawn_thread(chain_2, l2);
        pthread_mutex_lock(&l1->lock);
        while (!l1->go)
                pthread_cond_wait(&l1->cond, &l1->lock);
        pthread_mutex_unlock(&l1->lock);
        pthread_mutex_unlock(&l2->lock);
        free(l2);
        return NULL;
}

static void *driver(void *arg)
{
        (void) arg;
        name_self("driver");
        struct link *l1 = calloc(1, sizeof *l1);
        pthread_mutex_init(&l1->lock, NULL);
        pthread_cond_init(&l1->cond, NULL);
        spawn_thread(chain_1, l1);
        work_forever();
        return l1;
}

int main(void)
{
        start_pool("global-pool", &global_queue, 2);
        heap_queue = calloc(1, sizeof *heap_queue);
        pthread_mutex_init(&heap_queue->lock, NULL);
        pthread_cond_init(&heap_queue->nonempty, NULL);
        start_pool("heap-pool", heap_queue, 2);
        spawn_thread(owner, NULL);
        spawn_thread(driver, NULL);
        ready_and_wait();
}
