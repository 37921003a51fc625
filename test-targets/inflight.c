/* Calls in progress that any stop of the thread would disturb
 * (tests/integration/test_stopfree.py): a pipe write that has moved part
 * of its data (a stop ends it short), a recv under SO_RCVTIMEO and an
 * epoll_wait with a timeout (a stop ends them with EINTR).  On SIGUSR2
 * main completes each call and prints what it returned: "NAME RESULT
 * ERRNO" per call, then "done".  No leakscan-expect lines: the harness of
 * check_target.py does not run it. */
#include "common.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#define WRITE_SIZE (1 << 20)

static int pipefd[2], sockfd[2], efd, epfd;
static long results[3][2];      /* returned value, errno */
static int writer_done;

static void *writer(void *arg)
{
        (void) arg;
        name_self("writer");
        char *buf = calloc(1, WRITE_SIZE);
        ssize_t n = write(pipefd[1], buf, WRITE_SIZE);
        results[0][0] = n;
        results[0][1] = n < 0 ? errno : 0;
        __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
        return NULL;
}

static void *receiver(void *arg)
{
        (void) arg;
        name_self("receiver");
        char buf[64];
        ssize_t n = recv(sockfd[0], buf, sizeof buf, 0);
        results[1][0] = n;
        results[1][1] = n < 0 ? errno : 0;
        return NULL;
}

static void *poller(void *arg)
{
        (void) arg;
        name_self("poller");
        struct epoll_event ev;
        int n = epoll_wait(epfd, &ev, 1, 600 * 1000);
        results[2][0] = n;
        results[2][1] = n < 0 ? errno : 0;
        return NULL;
}

int main(void)
{
        if (pipe(pipefd) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sockfd) < 0)
                die("pipe");
        struct timeval tv = { .tv_sec = 600 };
        if (setsockopt(sockfd[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
                die("SO_RCVTIMEO");
        efd = eventfd(0, 0);
        epfd = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN };
        if (efd < 0 || epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, efd, &ev) < 0)
                die("epoll");
        /* SIGUSR2 is taken by main alone, in sigwaitinfo */
        sigset_t usr2;
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &usr2, NULL);
        pthread_t t[3] = { spawn_thread(writer, NULL), spawn_thread(receiver, NULL),
                           spawn_thread(poller, NULL) };
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        while (sigwaitinfo(&usr2, NULL) < 0)
                ;
        (void) !write(sockfd[1], "hello", 5);
        uint64_t one = 1;
        (void) !write(efd, &one, sizeof one);
        /* drain the pipe until the write has returned, however much it
         * wrote (a write cut short wrote less) */
        static char sink[65536];
        fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        for (;;) {
                ssize_t n = read(pipefd[0], sink, sizeof sink);
                if (n > 0)
                        continue;
                if (n < 0 && errno != EAGAIN)
                        die("read");
                if (__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE) && n < 0)
                        break;
                struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
                (void) poll(&p, 1, 10);
        }
        for (int i = 0; i < 3; i++)
                pthread_join(t[i], NULL);
        static const char *const names[] = { "write", "recv", "epoll_wait" };
        for (int i = 0; i < 3; i++)
                printf("%s %ld %ld\n", names[i], results[i][0], results[i][1]);
        printf("done\n");
        return 0;
}
