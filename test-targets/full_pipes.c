/* A hostile target for the reachability scan: 48 pipes, each holding 1 MiB
 * of unread bytes with both ends in the process (so the scan must look into
 * them: a pointer could be in flight between two threads), and a thread
 * waiting on a heap condition variable nobody points to (so that the scan
 * runs).  leakscan copies the waiting bytes; it must not hold eight times
 * them (a word per byte offset), nor more than --scan-limit, and it must
 * leave every byte in its pipe.
 *
 * On SIGUSR1 it checks its pipes and prints "intact N" (N pipes still
 * holding all their bytes) or "harmed N".  For
 * tests/integration/test_hostile_input.py. */
#include <fcntl.h>
#include <sys/ioctl.h>

#include "common.h"

#define N_PIPES 48
#define PIPE_BYTES (1 << 20)

static int pipes[N_PIPES][2];

struct request {
        pthread_mutex_t lock;
        pthread_cond_t replied;
        int done;
};

static NOINLINE void wait_reply(struct request *req)
{
        pthread_mutex_lock(&req->lock);
        while (!req->done)
                pthread_cond_wait(&req->replied, &req->lock);
        pthread_mutex_unlock(&req->lock);
}

static void *forgotten(void *arg)
{
        name_self("forgotten");
        wait_reply(arg);
        return NULL;
}

static void *checker(void *arg)
{
        (void) arg;
        name_self("checker");
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        for (;;) {
                int sig;
                if (sigwait(&set, &sig) != 0)
                        continue;
                int intact = 0;
                for (int i = 0; i < N_PIPES; i++) {
                        int pending = 0;
                        intact += ioctl(pipes[i][0], FIONREAD, &pending) == 0 && pending == PIPE_BYTES;
                }
                printf("%s %d\n", intact == N_PIPES ? "intact" : "harmed", intact);
                fflush(stdout);
        }
        return NULL;
}

static NOINLINE void start_forgotten(void)
{
        struct request *req = calloc(1, sizeof *req);
        pthread_mutex_init(&req->lock, NULL);
        pthread_cond_init(&req->replied, NULL);
        spawn_thread(forgotten, req);
        req = NULL;
}

int main(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        static char chunk[65536];
        memset(chunk, 0x41, sizeof chunk);
        for (int i = 0; i < N_PIPES; i++) {
                if (pipe2(pipes[i], O_CLOEXEC | O_NONBLOCK) < 0)
                        die("pipe2");
                if (fcntl(pipes[i][1], F_SETPIPE_SZ, PIPE_BYTES) < PIPE_BYTES)
                        die("F_SETPIPE_SZ");
                for (int sent = 0; sent < PIPE_BYTES; ) {
                        ssize_t k = write(pipes[i][1], chunk, sizeof chunk);
                        if (k <= 0)
                                die("write");
                        sent += (int) k;
                }
        }
        start_forgotten();
        spawn_thread(checker, NULL);
        while (!others_asleep())
                usleep(1000);
        ready_and_wait();
}
