/* A sender on a socketpair whose peer never reads.
 * leakscan-expect-at-exit: leaked=1
 * leakscan-expect: leaked=0
 * leakscan-expect: thread sender state=socket-write fd_kind=socket verdict=idle top=send_all line=@write
 */
#include <sys/socket.h>

#include "common.h"

static int sv[2];

static NOINLINE void send_all(void)
{
        static char buf[1 << 20];
        for (;;)
                (void) !write(sv[0], buf, sizeof buf); /* @write */
}

static void *sender(void *arg)
{
        (void) arg;
        name_self("sender");
        send_all();
        return NULL;
}

int main(void)
{
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                die("socketpair");
        spawn_thread(sender, NULL);
        ready_and_wait();
}
