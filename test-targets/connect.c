/* A client blocked in connect(): the loopback listener's accept queue is full,
 * so the kernel drops its SYNs and it waits for a retransmission to succeed.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread connector state=connect syscall=connect verdict=idle top=dial line=@connect
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "common.h"

static struct sockaddr_in server = { .sin_family = AF_INET };

static NOINLINE void dial(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        connect(fd, (struct sockaddr *) &server, sizeof server); /* @connect */
        close(fd);
}

static void *connector(void *arg)
{
        (void) arg;
        name_self("connector");
        for (;;)
                dial();
        return NULL;
}

int main(void)
{
        socklen_t len = sizeof server;
        server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int l = socket(AF_INET, SOCK_STREAM, 0);
        if (l < 0 || bind(l, (struct sockaddr *) &server, sizeof server) < 0 || listen(l, 0) < 0 ||
            getsockname(l, (struct sockaddr *) &server, &len) < 0)
                die("listen");
        /* Fill the accept queue (backlog 0 admits one) with connections that
         * are never accepted; non-blocking so that main never waits. */
        for (int i = 0; i < 4; i++) {
                int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
                connect(c, (struct sockaddr *) &server, sizeof server);
        }
        usleep(100000);
        spawn_thread(connector, NULL);
        ready_and_wait();
}
