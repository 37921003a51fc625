/* A server thread accepting on a loopback socket nobody connects to.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread acceptor state=accept verdict=idle top=serve_one line=@accept
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include "common.h"

static int listener;

static NOINLINE void serve_one(void)
{
        int c = accept(listener, NULL, NULL); /* @accept */
        if (c >= 0)
                close(c);
}

static void *acceptor(void *arg)
{
        (void) arg;
        name_self("acceptor");
        serve_one();
        return NULL;
}

int main(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        listener = socket(AF_INET, SOCK_STREAM, 0);
        if (listener < 0 || bind(listener, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(listener, 1) < 0)
                die("listen");
        spawn_thread(acceptor, NULL);
        ready_and_wait();
}
