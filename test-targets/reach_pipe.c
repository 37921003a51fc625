/* A request in flight: the client wrote the only pointer to its request
 * into a pipe that the worker has not read yet (it is busy elsewhere), and
 * waits on the request's condition variable.  The pointer is in neither
 * thread's memory but in the pipe: the worker will read it and reply, so
 * the client is idle, not leaked.  The request comes from the client's own
 * malloc arena (another arena than the main one).  Built a second time
 * with -DREACH_SOCKETPAIR: the channel is a unix socket pair.
 * leakscan-expect: leaked=0
 * leakscan-expect: thread client state=condvar verdict=idle leaked=false reach=reachable region=heap
 * leakscan-expect: thread worker state=semaphore verdict=idle leaked=false
 */
#include <semaphore.h>
#include <sys/socket.h>

#include "common.h"

struct request {
        pthread_mutex_t lock;
        pthread_cond_t replied;
        int done;
};

static int channel[2];
static sem_t busy;

static void *worker(void *arg)
{
        (void) arg;
        name_self("worker");
        sem_wait(&busy);        /* busy elsewhere; then it would read the channel */
        struct request *req;
        if (read(channel[0], &req, sizeof req) == sizeof req) {
                pthread_mutex_lock(&req->lock);
                req->done = 1;
                pthread_cond_signal(&req->replied);
                pthread_mutex_unlock(&req->lock);
        }
        return NULL;
}

static NOINLINE void call(void)
{
        struct request *req = calloc(1, sizeof *req);
        pthread_mutex_init(&req->lock, NULL);
        pthread_cond_init(&req->replied, NULL);
        pthread_mutex_lock(&req->lock);
        if (write(channel[1], &req, sizeof req) != sizeof req)
                die("write");
        while (!req->done)
                pthread_cond_wait(&req->replied, &req->lock);
        pthread_mutex_unlock(&req->lock);
}

static void *client(void *arg)
{
        (void) arg;
        name_self("client");
        call();
        return NULL;
}

int main(void)
{
#ifdef REACH_SOCKETPAIR
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, channel) < 0)
                die("socketpair");
#else
        if (pipe(channel) < 0)
                die("pipe");
#endif
        sem_init(&busy, 0, 0);
        spawn_thread(worker, NULL);
        spawn_thread(client, NULL);
        ready_and_wait();
}
