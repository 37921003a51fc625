/* A small "server" that leaks threads the way real ones do, for scripts/demo:
 *  - request handlers waiting for a reply on their request, which the
 *    dispatcher dropped when it gave up on them: nothing can ever reach the
 *    request again to signal it (unreachable),
 *  - a cache refresher stuck on a lock that a crashed job thread never
 *    released (orphaned),
 * next to healthy threads that leakscan -p does not report: a pool of
 * workers idle on a queue that the server can still feed, a ticking timer,
 * an event loop with a timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct request {
        pthread_mutex_t lock;
        pthread_cond_t done;
        int finished;
        int id;
};

/* The work queue of a healthy pool: global, so the server can still post. */
static struct {
        pthread_mutex_t lock;
        pthread_cond_t nonempty;
        int jobs;
} queue = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct request *in_flight[3];

static void wait_for_reply(struct request *r)
{
        pthread_mutex_lock(&r->lock);
        while (!r->finished)
                pthread_cond_wait(&r->done, &r->lock);
        pthread_mutex_unlock(&r->lock);
}

static void *handle_request(void *arg)
{
        pthread_setname_np(pthread_self(), "handler");
        wait_for_reply(arg);
        return NULL;
}

/* Gives up on the requests still in flight: forgets them without telling
 * their handlers (the bug). */
static void drop_timed_out_requests(void)
{
        for (int i = 0; i < 3; i++)
                in_flight[i] = NULL;
}

static void *worker(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "worker");
        for (;;) {
                pthread_mutex_lock(&queue.lock);
                while (queue.jobs == 0)
                        pthread_cond_wait(&queue.nonempty, &queue.lock);
                queue.jobs--;
                pthread_mutex_unlock(&queue.lock);
        }
        return NULL;
}

static void *crashing_job(void *arg)
{
        (void) arg;
        pthread_mutex_lock(&cache_lock);
        return NULL;            /* "crashed" with the lock held */
}

static void refresh_cache(void)
{
        pthread_mutex_lock(&cache_lock);
        pthread_mutex_unlock(&cache_lock);
}

static void *cache_refresher(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "cache-refresh");
        refresh_cache();
        return NULL;
}

static void *timer_tick(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "timer");
        for (;;)
                sleep(1);
        return NULL;
}

static void *event_loop(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "event-loop");
        for (;;)
                poll(NULL, 0, 500);
        return NULL;
}

int main(void)
{
        pthread_t t;
        for (int i = 0; i < 4; i++)
                pthread_create(&t, NULL, worker, NULL);
        for (int i = 0; i < 3; i++) {
                struct request *r = calloc(1, sizeof *r);
                pthread_mutex_init(&r->lock, NULL);
                pthread_cond_init(&r->done, NULL);
                r->id = i;
                in_flight[i] = r;
                pthread_create(&t, NULL, handle_request, r);
        }
        pthread_create(&t, NULL, crashing_job, NULL);
        pthread_join(t, NULL);
        pthread_create(&t, NULL, cache_refresher, NULL);
        pthread_create(&t, NULL, timer_tick, NULL);
        pthread_create(&t, NULL, event_loop, NULL);
        usleep(100000);
        drop_timed_out_requests();
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}
