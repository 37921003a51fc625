/* A small "server" that leaks threads the way real ones do, for scripts/demo:
 *  - request handlers that wait for a reply no one will ever signal,
 *  - a log shipper reading from a pipe whose writer was never started,
 *  - a cache refresher stuck on a lock that a crashed job never released,
 * next to healthy threads (a ticking timer, an event loop with a timeout). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct request {
        pthread_mutex_t lock;
        pthread_cond_t done;
        int finished;
};

static struct request pending = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_pipe[2];

static void wait_for_reply(struct request *r)
{
        pthread_mutex_lock(&r->lock);
        while (!r->finished)
                pthread_cond_wait(&r->done, &r->lock);  /* nobody sets finished */
        pthread_mutex_unlock(&r->lock);
}

static void *handle_request(void *arg)
{
        (void) arg;
        pthread_setname_np(pthread_self(), "handler");
        wait_for_reply(&pending);
        return NULL;
}

static void *ship_logs(void *arg)
{
        (void) arg;
        char buf[256];
        pthread_setname_np(pthread_self(), "log-shipper");
        while (read(log_pipe[0], buf, sizeof buf) > 0)
                ;
        return NULL;
}

static void refresh_cache(void)
{
        pthread_mutex_lock(&cache_lock);        /* held forever by main's "crashed job" */
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
        for (;;) {
                struct pollfd p = { .fd = log_pipe[0], .events = POLLPRI };
                poll(&p, 1, 500);
        }
        return NULL;
}

int main(void)
{
        pthread_t t;
        if (pipe(log_pipe) < 0)
                return 1;
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < 3; i++)
                pthread_create(&t, NULL, handle_request, NULL);
        pthread_create(&t, NULL, ship_logs, NULL);
        pthread_create(&t, NULL, cache_refresher, NULL);
        pthread_create(&t, NULL, timer_tick, NULL);
        pthread_create(&t, NULL, event_loop, NULL);
        printf("ready\n");
        fflush(stdout);
        for (;;)
                pause();
}
