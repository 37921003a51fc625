/* Readers on a socketpair: one with read(), one with recv().
 * leakscan-expect-at-exit: leaked=2
 * leakscan-expect: leaked=0
 * leakscan-expect: thread sockread state=socket-read syscall=read fd_kind=socket verdict=idle top=read_reply line=@read
 * leakscan-expect: thread sockrecv state=socket-read syscall=recvfrom verdict=idle top=recv_reply line=@recv
 */
#include <sys/socket.h>

#include "common.h"

static int sv[2];

static NOINLINE void read_reply(void)
{
        char buf[64];
        (void) !read(sv[0], buf, sizeof buf); /* @read */
}

static NOINLINE void recv_reply(void)
{
        char buf[64];
        (void) !recv(sv[0], buf, sizeof buf, 0); /* @recv */
}

static void *sockread(void *arg)
{
        (void) arg;
        name_self("sockread");
        read_reply();
        return NULL;
}

static void *sockrecv(void *arg)
{
        (void) arg;
        name_self("sockrecv");
        recv_reply();
        return NULL;
}

int main(void)
{
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                die("socketpair");
        spawn_thread(sockread, NULL);
        spawn_thread(sockrecv, NULL);
        ready_and_wait();
}
