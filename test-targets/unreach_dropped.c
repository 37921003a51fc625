/* Handlers waiting for replies on per-request objects that the dispatcher
 * dropped: it forgot each request (its only pointer, in the table of
 * pending requests) without waking the handler, so no thread that could
 * still run can reach the condition variable any more.  A fourth handler
 * whose request is still pending is idle, not leaked.
 * leakscan-expect: leaked=3
 * leakscan-expect: thread handler count=3 state=condvar verdict=unreachable leaked=true reach=unreachable region=heap top=wait_reply line=@wait
 * leakscan-expect: thread pending count=1 state=condvar verdict=idle leaked=false reach=reachable region=heap
 */
#include "common.h"

struct request {
        pthread_mutex_t lock;
        pthread_cond_t replied;
        int done;
        char payload[200];
};

#define MAX_PENDING 8
static struct request *pending[MAX_PENDING];

static NOINLINE void wait_reply(struct request *req)
{
        pthread_mutex_lock(&req->lock);
        while (!req->done)
                pthread_cond_wait(&req->replied, &req->lock); /* @wait */
        pthread_mutex_unlock(&req->lock);
}

static void *handler(void *arg)
{
        name_self(arg == pending[MAX_PENDING - 1] ? "pending" : "handler");
        wait_reply(arg);
        return NULL;
}

/* Starts a handler per request, then "times out" the first three: they
 * leave the table, and nobody tells their handlers. */
static NOINLINE void dispatch(void)
{
        for (int i = 0; i < 4; i++) {
                int slot = i == 3 ? MAX_PENDING - 1 : i;
                struct request *req = calloc(1, sizeof *req);
                pthread_mutex_init(&req->lock, NULL);
                pthread_cond_init(&req->replied, NULL);
                pending[slot] = req;
                spawn_thread(handler, req);
                req = NULL;
        }
        while (!others_asleep())
                usleep(1000);
        for (int i = 0; i < 3; i++)
                pending[i] = NULL;
}

/* Dispatches from deep in the stack: the dead frames that held the
 * pointers lie below everything main does afterwards, where no scan of a
 * running thread's stack looks. */
static NOINLINE void dispatch_deep(void)
{
        volatile char pad[32768];
        pad[0] = 0;
        dispatch();
        pad[1] = pad[0];
}

int main(void)
{
        dispatch_deep();
        ready_and_wait();
}
