/* Event loops waiting forever: poll() and epoll_wait() without a timeout, and
 * one poll() with a timeout (a timed wait, not a leak).
 * leakscan-expect-at-exit: leaked=3
 * leakscan-expect: leaked=0
 * leakscan-expect: thread poller state=poll syscall=poll timeout=false verdict=idle top=poll_forever line=@poll
 * leakscan-expect: thread epoller state=poll syscall=epoll_wait timeout=false verdict=idle top=epoll_forever line=@epoll
 * leakscan-expect: thread ticker state=poll timeout=true verdict=timed leaked=false
 */
#include <poll.h>
#include <sys/epoll.h>

#include "common.h"

static int fds[2];

static NOINLINE void poll_forever(void)
{
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        poll(&p, 1, -1); /* @poll */
}

static NOINLINE void epoll_forever(void)
{
        int ep = epoll_create1(0);
        struct epoll_event ev = { .events = EPOLLIN }, out;
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
        epoll_wait(ep, &out, 1, -1); /* @epoll */
}

static void *poller(void *arg)
{
        (void) arg;
        name_self("poller");
        poll_forever();
        return NULL;
}

static void *epoller(void *arg)
{
        (void) arg;
        name_self("epoller");
        epoll_forever();
        return NULL;
}

static void *ticker(void *arg)
{
        (void) arg;
        name_self("ticker");
        for (;;) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                poll(&p, 1, 3600 * 1000);
        }
        return NULL;
}

int main(void)
{
        if (pipe(fds) < 0)
                die("pipe");
        spawn_thread(poller, NULL);
        spawn_thread(epoller, NULL);
        spawn_thread(ticker, NULL);
        ready_and_wait();
}
